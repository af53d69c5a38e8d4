import atexit
import contextlib
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

# The store of parsed and proven knowledge bases (advisor/cache.py) lives in a directory of this run,
# never in the home of whoever runs the tests; set before the first import of the package (which reads
# the packaged vocabulary through it), and inherited by every command a test starts.
os.environ["MS_ADVISOR_CACHE"] = STORE = tempfile.mkdtemp(prefix="ms-advisor-test-cache-")
atexit.register(shutil.rmtree, STORE, True)

from advisor.kb.load import default_directory  # noqa: E402

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
# Slow tests are marked where they are written (`@pytest.mark.slow`, or `pytestmark` for a whole module:
# a browser, real server processes, signals, workers, large runs, a second KB: each over ~0.7 s on a
# shared 2-core machine). The one rule kept here is generic: every hypothesis test runs hundreds of examples.


def pytest_collection_modifyitems(config, items):
    """Mark every hypothesis test slow."""
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.slow)
