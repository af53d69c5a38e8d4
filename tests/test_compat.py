"""Running on CPython 3.11-3.13: durable-rules 2.0.28 loaded where its extension names a removed C-API
function, its storage callbacks refused, and its deprecation warnings kept out of our users' way."""

import datetime
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from advisor.core import engine  # first: it is what makes durable importable on 3.13
from advisor.core.engine import Engine, StorageCallbackRefused

durable_rules_engine = sys.modules["durable_rules_engine"]
durable_engine = engine._durable

RULES = {"big": {"all": [{"m": {"$gte": {"n": 10}}}]}}
# The five storage callbacks whose C trampolines call PyEval_CallObject (objdump of durable's
# extension: storeMessageCallback, deleteMessageCallback, queueMessageCallback,
# getQueuedMessagesCallback, getIdleStateCallback).
CALLBACK_SETTERS = ["set_store_message_callback", "set_delete_message_callback", "set_queue_message_callback",
                    "set_get_queued_messages_callback", "set_get_idle_state_callback"]


def test_every_storage_callback_setter_of_the_extension_is_refused():
    setters = [n for n in dir(durable_rules_engine) if n.startswith("set_") and n.endswith("_callback")]
    assert set(CALLBACK_SETTERS) <= set(setters)
    for name in setters:
        with pytest.raises(StorageCallbackRefused, match=name):
            getattr(durable_rules_engine, name)(0, lambda *a: None)


@pytest.mark.parametrize("name", CALLBACK_SETTERS)
def test_durables_own_host_api_cannot_set_a_storage_callback(name):
    host = engine._QuietHost({"compat_guard_" + name: {"r": {"all": [{"m": {"n": 1}}], "run": lambda c: None}}})
    with pytest.raises(StorageCallbackRefused):
        getattr(host, name)(lambda *a: None)


def test_rules_fire_with_no_warning_at_all():
    # On 3.12+ durable called datetime.utcfromtimestamp for every rule action: one DeprecationWarning
    # per fired rule (77,520 in one run of the suite, and an RSS test failed on the recorded warnings).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        e = Engine("compat", RULES)
        for n in range(50):
            e.evaluate({"n": n})
    assert [str(w.message) for w in caught] == []


def test_durables_clock_keeps_its_value():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        theirs = (datetime.datetime.now() - datetime.datetime.utcfromtimestamp(0)).total_seconds()
    assert durable_engine._unix_now is engine._unix_now
    assert abs(engine._unix_now() - theirs) < 5


def test_durables_deprecation_warnings_are_ignored_and_ours_still_show():
    code = ("import warnings, advisor.core.engine\n"
            "warnings.warn_explicit('from-durable', DeprecationWarning, 'durable/engine.py', 1, module='durable.engine')\n"
            "warnings.warn_explicit('from-advisor', DeprecationWarning, 'advisor/core/advisor.py', 1, module='advisor.core.advisor')\n"
            "warnings.warn_explicit('from-durablex', DeprecationWarning, 'durablex.py', 1, module='durablex')\n")
    out = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "from-durable:" not in out.stderr.replace("from-durablex", "")
    assert "from-advisor" in out.stderr and "from-durablex" in out.stderr


@pytest.mark.skipif(not engine.LAZY_BINDING, reason="lazy binding is used on Python 3.13+ only")
def test_forced_eager_binding_gives_a_clear_error_on_313():
    env = {**os.environ, "LD_BIND_NOW": "1"}
    out = subprocess.run([sys.executable, "-c", "import advisor.core.engine"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode != 0
    assert "LD_BIND_NOW is set" in out.stderr and "PyEval_CallObject" in out.stderr


def test_the_cli_answers_on_this_interpreter_with_warnings_as_errors():
    script = Path(sys.executable).with_name("ms-advisor")
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    out = subprocess.run([str(script), "advise", "--ms-type", "spms", "--severity", "severe", "--format", "json"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert '"listed": [\n    "mitoxantrone"\n  ]' in out.stdout
