"""The durable-rules wrapper's edges: sessions, unmatched facts, control keys (also as facts or ids),
threads, two knowledge bases side by side, memory over 100,000 runs, the cache."""

import itertools
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from advisor import Advisor, InvalidFacts, PatientFacts, advise
from advisor.core.engine import Engine

RULES = {
    "big": {"all": [{"m": {"$gte": {"n": 10}}}]},
    "small": {"all": [{"m": {"$lt": {"n": 10}}}]},
    "ten": {"all": [{"m": {"n": 10}}]},
}


def test_every_matching_rule_fires_on_one_fact():
    # Asserted as a fact, not posted as an event: an event would be consumed by the first rule.
    assert Engine("t", RULES).evaluate({"n": 10}) == ("big", "ten")


def test_facts_that_match_no_rule_fire_nothing_and_leak_no_session():
    # durable-rules raises MessageNotHandledException for such a fact, keeps its session, and crashes
    # if that session is deleted; the wrapper's catch-all rule avoids both, also past 1,024 sessions.
    engine = Engine("t", RULES)
    for _ in range(1500):
        assert engine.evaluate({"other": 1}) == ()


def test_far_more_evaluations_than_durable_keeps_sessions():
    engine = Engine("t", RULES)
    for i in range(3000):  # durable-rules raises MemoryError past ~1,024 live sessions
        assert engine.evaluate({"n": i % 20}) == (("big", "ten") if i % 20 == 10 else ("big",) if i % 20 > 10 else ("small",))


def test_the_same_fact_twice_is_evaluated_twice():
    engine = Engine("t", RULES)
    assert engine.evaluate({"n": 3}) == engine.evaluate({"n": 3}) == ("small",)


@pytest.mark.parametrize("key", ["sid", "id", "$s", "$and", "advisor_case"])
def test_facts_carrying_engine_control_keys_are_refused(key):
    with pytest.raises(ValueError, match="control keys"):
        Engine("t", RULES).evaluate({"n": 3, key: 1})


def test_two_engines_with_the_same_name_do_not_mix():
    a = Engine("same", {"r": {"all": [{"m": {"n": 1}}]}})
    b = Engine("same", {"r": {"all": [{"m": {"n": 2}}]}})
    assert (a.evaluate({"n": 1}), b.evaluate({"n": 1})) == (("r",), ())


def test_threads_get_the_same_answers_as_one_thread():
    engine = Engine("t", RULES)
    expected = {n: engine.evaluate({"n": n}) for n in range(20)}
    errors = []

    def work():
        for n in itertools.islice(itertools.cycle(range(20)), 500):
            if engine.evaluate({"n": n}) != expected[n]:
                errors.append(n)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_cached_decisions_equal_uncached_ones_for_the_same_key():
    cached, uncached = Advisor(), Advisor(cache=False)
    for t, s, pf, rw, dose in itertools.product(["relapsing", "spms", "ppms"], ["mild", "severe"], [0, 2, 7],
                                                 [False, True], [0.0, 50.5, 139.99, 140.0, 300.0]):
        facts = PatientFacts.parse({"ms_type": t, "severity": s, "prior_failures": pf, "rapidly_worsening": rw,
                                    "mitoxantrone_cumulative_mg_m2": dose})
        assert cached.decide(facts) == uncached.decide(facts)


def test_cache_key_is_derived_from_the_kb_tests():
    a = Advisor()
    assert set(a.tested_facts) == {"ms_type", "severity", "prior_failures", "rapidly_worsening", "mitoxantrone_cumulative_mg_m2"}

    def key(**f):
        return a.decision_key(PatientFacts.parse({"ms_type": "spms", "severity": "mild", **f}))

    assert key(prior_failures=2) == key(prior_failures=9)      # the KB tests only ">= 2" / "< 2"
    assert key(prior_failures=1) != key(prior_failures=2)
    assert key(conditions=["pml"]) == key()                    # status rules never test conditions


def test_importing_the_package_starts_nothing_heavy():
    code = "import sys, advisor; print('durable' in sys.modules, 'pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


CTRL_C_SCRIPT = """
from advisor.core.engine import Engine  # first: on Python 3.13 it is what makes durable importable
import durable.engine

engine = Engine("t", {"big": {"all": [{"m": {"$gte": {"n": 10}}}]}, "small": {"all": [{"m": {"$lt": {"n": 10}}}]}})
real = durable.engine.durable_rules_engine.update_state

def interrupted(*args):  # a Ctrl-C landing while durable completes a rule action
    raise KeyboardInterrupt

durable.engine.durable_rules_engine.update_state = interrupted
try:
    engine.evaluate({"n": 11})
except KeyboardInterrupt:
    print("interrupted")
durable.engine.durable_rules_engine.update_state = real
print(engine.evaluate({"n": 3}))
"""


def test_ctrl_c_inside_durable_reaches_the_caller_without_durables_traceback():
    # In a subprocess: pytest's own log capture would hide what durable's logger prints.
    p = subprocess.run([sys.executable, "-c", CTRL_C_SCRIPT], capture_output=True, text=True, timeout=60)
    assert p.stdout.split("\n")[:2] == ["interrupted", "('small',)"], p.stdout + p.stderr
    assert p.stderr == ""


def test_a_hundred_rules_matching_one_fact_all_fire_without_crashing_durable():
    # durable walks its alpha network with a 64-entry stack: 64 matching rules in one ruleset crashed
    # the process (SIGSEGV) or failed with error 303. Run in a child so a crash cannot take pytest down.
    code = (
        "from advisor.core.engine import Engine\n"
        "rules = {f'r{i}': {'all': [{'m': {'$gte': {'n': i}}}]} for i in range(100)}\n"
        "rules.update({f'd{i}': {'all': [{'m': {'$and': [{'$gte': {'x': i * 1.5}}, {'$lt': {'n': 10**6}}]}}]} for i in range(100)})\n"
        "e = Engine('wide', rules)\n"
        "fired = e.evaluate({'n': 1000, 'x': 1e6})\n"
        "assert len(fired) == 200 and fired[:2] == ('r0', 'r1'), fired\n"
        "assert e.evaluate({'n': 50, 'x': 3.0}) == tuple([f'r{i}' for i in range(51)] + ['d0', 'd1', 'd2'])\n"
        "print('ok')\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "ok", (p.returncode, p.stderr[-500:])


def _all_facts():
    return [{"ms_type": t, "severity": s, "prior_failures": pf, "rapidly_worsening": rw, "mitoxantrone_cumulative_mg_m2": d,
             "conditions": c} for t in ("relapsing", "spms", "ppms") for s in ("mild", "severe") for pf in (0, 2)
            for rw in (False, True) for d in (0, 140) for c in ([], ["pml", "cancer"])]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# --- facts that look like the engine's control keys ---------------------------------------------------------

@pytest.mark.parametrize("key", ["sid", "$s", "$and", "advisor_case"])
def test_engine_control_keys_in_facts_are_unknown_fields(key):
    with pytest.raises(InvalidFacts, match=key.replace("$", r"\$")):
        advise({"ms_type": "spms", "severity": "mild", key: "0"})


def test_an_id_that_looks_like_an_engine_key_is_just_echoed():
    for given_id in ("sid", "0", "$s", "sid-0"):
        rec = advise({"ms_type": "spms", "severity": "mild", "id": given_id})
        assert rec.facts.id == given_id and rec.listed == ()


# --- threads, two knowledge bases, memory -------------------------------------------------------------------

def test_eight_threads_give_the_same_answers_as_one():
    facts = _all_facts()
    fresh = Advisor()
    expected = [fresh.advise(f).model_dump() for f in facts]
    shared = Advisor()
    results: dict[int, list] = {}

    def work(n):
        results[n] = [shared.advise(f).model_dump() for f in (facts[n::8] + facts[:n:8])]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in range(8):
        assert results[n] == expected[n::8] + expected[:n:8]


@pytest.mark.slow
def test_two_knowledge_bases_side_by_side_do_not_mix(kb_copy):
    path = kb_copy / "decisions.toml"
    text = path.read_text("utf-8").replace('op = ">=", value = 2 }', 'op = ">=", value = 3 }', 1)
    text = text.replace('op = "<", value = 2 }', 'op = "<", value = 3 }', 1)
    path.write_text(text, "utf-8")
    strict, default = Advisor(rules_dir=kb_copy, cache=False), Advisor(cache=False)
    facts = {"ms_type": "spms", "severity": "mild", "prior_failures": 2}
    out: dict[str, set] = {"strict": set(), "default": set()}

    def work(name, advisor):
        for _ in range(300):
            out[name].add(advisor.advise(facts).drug("alemtuzumab").status.value)

    threads = [threading.Thread(target=work, args=a) for a in [("strict", strict), ("default", default)] * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == {"strict": {"not_applicable"}, "default": {"applicable"}}


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc")
@pytest.mark.slow
def test_rss_stays_flat_over_100000_advise_calls_and_100000_engine_runs():
    facts = _all_facts()
    for f in facts:
        advise(f)
    before = rss_mb()
    for i in range(100_000):
        advise(facts[i % len(facts)])
    after_advise = rss_mb()
    engine = Engine("memory", {"r": {"all": [{"m": {"$gte": {"n": 5}}}]}})
    for i in range(100_000):  # every run opens a durable-rules session; each must be deleted
        engine.evaluate({"n": i % 10})
    after_engine = rss_mb()
    print(f"RSS: {before:.1f} MB after warm-up, {after_advise:.1f} MB after 100,000 advise(), {after_engine:.1f} MB after 100,000 engine runs")
    assert after_advise - before < 10
    assert after_engine - after_advise < 10
