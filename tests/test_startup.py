"""The collector of the `ms-advisor` process (advisor/startup.py): held back while a command starts,
as usual (and the start-up's objects frozen out of its sight) once the advisor is built, untouched in
any other process that imports the command line (a test runner, an embedder)."""

import json
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent("""
    import gc, json, sys
    sys.argv = [sys.argv[1], "advise"]
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    import advisor.cli
    from advisor.cli.common import get_advisor
    starting = gc.get_threshold()
    get_advisor(None)
    print(json.dumps({"before": before, "starting": starting, "working": gc.get_threshold(), "frozen": gc.get_freeze_count() - frozen}))
""")


def probe(argv0):
    r = subprocess.run([sys.executable, "-c", PROBE, argv0], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_the_ms_advisor_process_holds_the_collector_back_until_the_advisor_is_built():
    from advisor.startup import STARTUP_THRESHOLD

    seen = probe("/somewhere/bin/ms-advisor")
    assert seen["starting"] == [STARTUP_THRESHOLD, *seen["before"][1:]]
    assert seen["working"] == seen["before"]
    assert seen["frozen"] > 10_000  # click, pydantic and the KB are out of the collections to come


def test_another_process_keeps_its_collector():
    seen = probe("/somewhere/bin/pytest")
    assert seen["starting"] == seen["working"] == seen["before"] and seen["frozen"] == 0


def test_a_command_that_builds_no_advisor_still_collects():
    code = textwrap.dedent("""
        import gc, sys
        sys.argv = ["/bin/ms-advisor", "--help"]
        import advisor.cli
        gc.collect()
        class Cycle:
            pass
        for _ in range(300_000):  # garbage in cycles, as a long command without an advisor might make
            a, b = Cycle(), Cycle()
            a.b, b.a = b, a
        print(gc.get_count()[0] < 100_000, gc.get_stats()[0]["collections"] > 0)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout.split() == ["True", "True"], r.stderr
