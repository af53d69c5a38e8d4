import contextlib
import shutil
import signal
from pathlib import Path

import pytest

from advisor.kb import default_directory

ROOT = Path(__file__).resolve().parent.parent
SHARED_SOURCE = ROOT.parent / "shared" / "sources" / "ms-infusions.txt"


@pytest.fixture(autouse=True)
def _columns(monkeypatch):
    """Tables wrap to $COLUMNS, else the terminal: every test sees 100 columns unless it says otherwise,
    so no result depends on the width of the terminal (or the test runner: pytest-xdist sets 80)."""
    monkeypatch.setenv("COLUMNS", "100")


@pytest.fixture
def kb_copy(tmp_path):
    """A writable copy of the shipped knowledge base, for tests that break or change it."""
    target = tmp_path / "rules"
    shutil.copytree(default_directory(), target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return target


class Hung(BaseException):
    """A guarded call outlived its time (a BaseException, so the code under test cannot catch it)."""


@pytest.fixture
def hang_guard():
    """hang_guard(seconds): a block that fails the test with Hung if it runs longer (SIGALRM, main thread),
    so a call that must not hang (a FIFO with no writer) can run in-process instead of in a subprocess
    with a timeout; a blocking read or open is interrupted by the signal."""
    @contextlib.contextmanager
    def guard(seconds=30):
        def expire(signum, frame):
            raise Hung(f"still running after {seconds} s")
        previous = signal.signal(signal.SIGALRM, expire)
        signal.alarm(seconds)
        try:
            yield
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
    return guard


# --- the `slow` marker: `pytest -m "not slow"` for daily work, everything in .ci/run -----------------
SLOW_MODULES = {"test_web_browser.py", "test_serve_process.py"}  # a browser; real server processes
SLOW_TESTS = (  # each over ~0.7 s on a shared 2-core machine: signals, workers, large runs, a second KB
    "test_two_knowledge_bases_side_by_side_do_not_mix", "test_interrupted_run_leaves_only_complete_records_in_partial",
    "test_batch_over_many_blocks_keeps_order_and_line_numbers", "test_fast_path_gives_the_same_bytes_and_summary_as_the_plain_path",
    "test_sigterm_and_sighup_end_the_run_every_time", "test_a_killed_worker_ends_the_run_within_30_seconds",
    "test_installed_entry_point_runs", "test_log_streams_a_long_log", "test_a_200_rule_kb_loads_checks_and_decides",
    "test_disk_full_exits_2_naming_the_file_and_count", "test_workers_keep_input_order_and_give_the_same_records",
    "test_fingerprint_is_the_same_with_crlf_line_endings_and_changes_with_content", "test_two_processes_write_the_same_log",
    "test_the_whole_hostile_corpus_at_once_loses_no_case", "test_devices_are_refused_and_an_endless_stdin_stops_at_the_line_limit",
    "test_diff_of_identical_knowledge_bases_is_empty_and_exits_0", "test_diff_names_the_classes_that_change_and_the_rules_that_changed",
    "test_require_approved_fails_on_unreviewed_and_draft_rules_and_passes_when_all_are_approved",
    "test_uncached_engine_gives_the_same_table", "test_hostile_files_through_the_cli_exit_1_without_traceback",
    "test_the_log_keeps_decisions_without_patient_ids_by_default", "test_a_slow_fhir_server_gives_412_within_the_timeout",
    "test_fingerprint_ignores_line_endings_and_sees_every_change", "test_batch_gives_the_same_records_as_the_cli",
    "test_write_error_keeps_only_whole_records", "test_signals_during_the_clean_up_do_not_kill_it",
    "test_a_signal_during_start_up_ends_as_an_interrupted_run", "test_sigterm_early_in_a_real_run_ends_it_the_documented_way",
    "test_a_device_that_fills_up_keeps_exactly_the_records_counted", "test_a_device_that_takes_nothing_is_said_to_have_taken_nothing",
    "test_a_full_device_with_nothing_whole_leaves_no_temporary_file",
    "test_a_device_as_a_trusted_key_set_is_refused_before_serving",  # a real `ms-advisor serve` process (~1 s of CPU)
)


def pytest_collection_modifyitems(config, items):
    """Mark slow: every hypothesis test (hundreds of examples each), the browser and server-process
    modules, and tests marked by hand (the RSS test, large batch runs)."""
    for item in items:
        function = getattr(item, "obj", None)
        if getattr(function, "is_hypothesis_test", False) or item.path.name in SLOW_MODULES \
                or item.originalname in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
