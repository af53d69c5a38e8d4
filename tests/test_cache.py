"""The store of parsed and proven knowledge bases (advisor/cache.py): a second load skips the TOML
parse and the checks, anything that changes the answer starts afresh, and no entry or directory
anyone else could have written is used."""

import errno
import importlib.util
import datetime
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from advisor import cache
from advisor.errors import KnowledgeBaseError
from advisor.kb import checks, files, load as load_module
from advisor.kb.load import load


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A store of this test's own."""
    directory = tmp_path / "store"
    monkeypatch.setenv(cache.ENV, str(directory))
    return directory


@pytest.fixture
def counted(monkeypatch):
    """Counts of the TOML parses and of the runs of load()'s checks."""
    calls = {"parse": 0, "checks": 0}
    parse, run_checks = files._parse_toml, load_module._checks

    def counting_parse(text):
        calls["parse"] += 1
        return parse(text)

    def counting_checks(*args, **kwargs):
        calls["checks"] += 1
        return run_checks(*args, **kwargs)

    monkeypatch.setattr(files, "_parse_toml", counting_parse)
    monkeypatch.setattr(load_module, "_checks", counting_checks)
    return calls


def entries(directory):
    return sorted(p.name for p in directory.glob("*.json"))


def test_a_second_load_takes_the_parse_and_the_proof_from_the_store(store, counted, kb_copy):
    first = load(kb_copy)
    assert counted["checks"] == 1 and counted["parse"] >= 9
    assert any(name.startswith("proven-") for name in entries(store))
    parses = counted["parse"]
    second = load(kb_copy)
    assert counted == {"parse": parses, "checks": 1}  # nothing parsed, nothing checked again
    assert second == first and second.sha256 == first.sha256


def test_a_kb_loaded_through_the_store_is_the_kb_loaded_afresh(store, kb_copy):
    load(kb_copy)
    assert load(kb_copy) == load(kb_copy, reuse_proof=False)


def test_a_changed_file_is_parsed_and_proven_again(store, counted, kb_copy):
    load(kb_copy)
    with (kb_copy / "decisions.toml").open("a") as f:
        f.write("\n# a comment changes the bytes\n")
    load(kb_copy)
    assert counted["checks"] == 2


def test_the_same_kb_with_other_line_ends_is_proven_again(store, counted, kb_copy):
    first = load(kb_copy)
    for path in kb_copy.glob("*.toml"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    second = load(kb_copy)
    assert counted["checks"] == 2
    assert second.sha256 == first.sha256  # the fingerprint shown to users folds line ends; the proof does not


def test_a_changed_source_is_proven_again(store, counted, kb_copy):
    kb = load(kb_copy)
    source = kb_copy / kb.header.source
    source.write_text(source.read_text(encoding="utf-8") + "\nA line added.\n", encoding="utf-8")
    load(kb_copy)
    assert counted["checks"] == 2


def test_a_broken_kb_is_refused_at_every_load(store, counted, kb_copy):
    text = (kb_copy / "cautions.toml").read_text(encoding="utf-8")
    (kb_copy / "cautions.toml").write_text(text.replace("congestive heart failure", "a heart that fails", 1), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(KnowledgeBaseError, match="quote"):
            load(kb_copy)
    assert counted["checks"] == 2
    assert not any(name.startswith("proven-") for name in entries(store))


def test_a_file_refused_before_the_schema_is_refused_at_every_load(store, kb_copy):
    """A parse that met a problem (here a control character) is never kept: the next load meets it again."""
    text = (kb_copy / "kb.toml").read_text(encoding="utf-8")
    (kb_copy / "kb.toml").write_text(text.replace('version = "1"', 'version = "1\\u001b[31m"', 1), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(KnowledgeBaseError, match="version: holds a control character"):
            load(kb_copy)


def test_other_code_proves_it_again(store, counted, kb_copy, monkeypatch):
    load(kb_copy)
    monkeypatch.setattr(cache, "code_stamp", lambda: b"another release")
    load(kb_copy)
    assert counted["checks"] == 2


def test_another_pydantic_proves_it_again(store, counted, kb_copy, monkeypatch):
    load(kb_copy)
    monkeypatch.setattr(load_module, "pydantic_version", "another version")  # the models' checks may differ
    load(kb_copy)
    assert counted["checks"] == 2


def test_the_code_stamp_follows_every_module_of_the_package(tmp_path):
    """The modules of a copy of the package: a module touched, or one byte longer at the same time, is
    another stamp (an edit that keeps both a module's size and its time is not seen, as by Python's .pyc)."""
    package = tmp_path / "advisor"
    shutil.copytree(Path(cache.__file__).parent, package,
                    ignore=lambda folder, names: [n for n in names if n == "__pycache__" or
                                                  (not n.endswith(".py") and not os.path.isdir(os.path.join(folder, n)))])
    spec = importlib.util.spec_from_file_location("copied_cache", package / "cache.py")
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)

    def stamp():
        copy.code_stamp.cache_clear()
        return copy.code_stamp()

    first = stamp()
    for module in (package / "text.py", package / "kb" / "space.py"):
        before = module.stat()
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
        assert stamp() != first
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert stamp() == first
    module.write_bytes(module.read_bytes() + b"#")
    os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert stamp() != first
    assert stamp() != cache.code_stamp()  # another place is another package


def test_kb_check_proves_a_proven_kb_again(store, counted, kb_copy):
    load(kb_copy)
    assert checks.check(kb_copy).ok
    assert counted["checks"] == 2


def test_the_store_can_be_turned_off(tmp_path, monkeypatch, counted, kb_copy):
    for value in ("off", "0", "OFF ", ""):
        monkeypatch.setenv(cache.ENV, value)
        assert cache.directory() is None
    load(kb_copy)
    load(kb_copy)
    assert counted["checks"] == 2


@pytest.mark.parametrize("setting", ["relative/store", "./store"])
def test_a_relative_path_is_not_used(setting, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(cache.ENV, setting)
    assert cache.directory() is None
    assert not (tmp_path / "relative").exists() and not (tmp_path / "store").exists()


def test_the_default_place_is_under_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.delenv(cache.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.directory() == tmp_path / "xdg" / "ms-advisor"
    assert (tmp_path / "xdg" / "ms-advisor").stat().st_mode & 0o777 == 0o700
    monkeypatch.setenv("XDG_CACHE_HOME", "not/absolute")  # the XDG rule: a relative value is ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.directory() == tmp_path / "home" / ".cache" / "ms-advisor"


@pytest.mark.parametrize("home", ["relative/home", ""])
def test_a_home_that_is_no_absolute_path_gives_no_store(home, tmp_path, monkeypatch):
    """A relative $HOME would put the store where the command runs, an empty one (which Python reads
    as '/') at the root of the file system: no store, as for a relative $MS_ADVISOR_CACHE."""
    made = []
    monkeypatch.setattr(cache.Path, "mkdir", lambda self, *a, **k: made.append(self))  # nothing is made, wherever
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(cache.ENV)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", home)
    assert cache.directory() is None
    assert made == []


def test_a_directory_others_may_write_is_not_used(store, counted, kb_copy):
    store.mkdir(mode=0o700)
    os.chmod(store, 0o777)
    assert cache.directory() is None
    load(kb_copy)
    load(kb_copy)
    assert counted["checks"] == 2 and entries(store) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_a_directory_of_another_user_is_not_used(store, kb_copy, counted):
    store.mkdir(mode=0o700)
    os.chown(store, 65534, 65534)
    assert cache.directory() is None
    load(kb_copy)
    assert entries(store) == []


def test_a_file_in_place_of_the_directory_is_no_store(tmp_path, monkeypatch, kb_copy, counted):
    (tmp_path / "a-file").write_text("not a directory")
    monkeypatch.setenv(cache.ENV, str(tmp_path / "a-file"))
    assert cache.directory() is None
    load(kb_copy)
    assert (tmp_path / "a-file").read_text() == "not a directory"


def entry_path(store, kind, content):
    return store / f"{kind}-{cache._key(kind, content)[:40]}.json"


def test_an_entry_holding_a_pickle_is_a_miss_and_runs_nothing(store, tmp_path):
    store.mkdir(mode=0o700)
    marker = tmp_path / "ran"

    class Hostile:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    key = cache._key("toml", b"x")
    entry_path(store, "toml", b"x").write_bytes(cache._framed(pickle.dumps((key, Hostile()))))
    assert cache.get("toml", b"x") is None
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "another key", "no header", "too big"])
def test_a_broken_entry_is_a_miss_and_is_written_again(damage, store, monkeypatch):
    cache.put("toml", b"content", {"a": [1, 2.5, "three"]})
    path = entry_path(store, "toml", b"content")
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(cache.FORMAT + os.urandom(200))
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "another key":
        path.write_bytes(cache._framed(json.dumps(["0" * 64, {"a": "forged"}]).encode()))
    elif damage == "no header":
        path.write_bytes(data[len(cache.FORMAT):])
    else:
        monkeypatch.setattr(cache, "MAX_ENTRY_BYTES", len(data) - 1)
    assert cache.get("toml", b"content") is None
    assert cache.parsed("toml", b"content", lambda d: {"a": "again"}) == {"a": "again"}
    monkeypatch.undo()
    monkeypatch.setenv(cache.ENV, str(store))
    assert cache.get("toml", b"content") == {"a": "again"}


def test_an_entry_damaged_by_chance_is_a_miss(store):
    """A byte of the value changed on disk (a bad sector, a bad copy): the kept value is never used."""
    cache.put("toml", b"content", {"a": [1, 2.5, "three"]})
    path = entry_path(store, "toml", b"content")
    path.write_bytes(path.read_bytes().replace(b"three", b"thrEe"))
    assert cache.get("toml", b"content") is None


def test_an_entry_that_is_a_symlink_is_not_followed(store, tmp_path):
    cache.put("toml", b"content", {"a": 1})
    path = entry_path(store, "toml", b"content")
    elsewhere = tmp_path / "elsewhere.pickle"
    path.rename(elsewhere)
    path.symlink_to(elsewhere)
    assert cache.get("toml", b"content") is None


def test_an_entry_others_may_write_is_not_used(store):
    cache.put("toml", b"content", {"a": 1})
    path = entry_path(store, "toml", b"content")
    os.chmod(path, 0o666)
    assert cache.get("toml", b"content") is None


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file to another user needs root")
def test_an_entry_of_another_user_is_not_used(store):
    cache.put("toml", b"content", {"a": 1})
    os.chown(entry_path(store, "toml", b"content"), 65534, 65534)
    assert cache.get("toml", b"content") is None
    cache.put("toml", b"content", {"a": 2})  # written again, as the user's own
    assert cache.get("toml", b"content") == {"a": 2}


def test_a_full_disk_leaves_neither_an_entry_nor_a_temporary_file(store, monkeypatch):
    store.mkdir(mode=0o700)
    fdopen = os.fdopen

    class FullDisk:  # half of the entry written, then ENOSPC
        def __init__(self, fd):
            self.fd = fd

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            os.close(self.fd)

        def write(self, data):
            os.write(self.fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fdopen", lambda fd, mode="r", *a, **k: FullDisk(fd) if "w" in mode else fdopen(fd, mode, *a, **k))
    cache.put("toml", b"content", {"a": 1})  # no error: the store is a convenience
    assert list(store.iterdir()) == []
    assert cache.get("toml", b"content") is None


def test_a_value_too_big_for_an_entry_is_not_written(store, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRY_BYTES", 1000)
    cache.put("toml", b"content", {"a": "x" * 2000})
    assert list(store.iterdir()) == []


def test_a_fifo_in_place_of_an_entry_does_not_block(store, hang_guard):
    store.mkdir(mode=0o700)
    os.mkfifo(entry_path(store, "toml", b"content"))
    with hang_guard(10):
        assert cache.get("toml", b"content") is None


def test_entries_are_written_whole_and_the_oldest_go(store, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 8)
    for n in range(20):
        cache.put("toml", str(n).encode(), {"n": n})
    kept = entries(store)
    assert 4 <= len(kept) <= 8
    assert cache.get("toml", b"19") == {"n": 19}
    assert not [p for p in store.iterdir() if p.name.endswith(".tmp")]


def test_pruning_removes_the_stores_own_entries_only(store, monkeypatch):
    """$MS_ADVISOR_CACHE may name a directory that holds other files (a project's data, pickles too):
    only entries the store wrote are ever removed."""
    store.mkdir(mode=0o700)
    theirs = [store / f"model-{n}.pickle" for n in range(10)] + [store / f"model-{n}.json" for n in range(10)] + [store / "notes.txt"]
    for path in theirs:  # older than every entry: the first to go if pruning took them for entries
        path.write_bytes(b"someone's data")
    monkeypatch.setattr(cache, "MAX_ENTRIES", 8)
    for n in range(20):
        cache.put("toml", str(n).encode(), {"n": n})
    assert [p.read_bytes() for p in theirs] == [b"someone's data"] * len(theirs)
    assert 4 <= len(list(store.glob("toml-*.json"))) <= 8


@pytest.mark.parametrize("value", [
    {"kb.toml": {"source_taken_on": datetime.date(2026, 11, 25), "at": datetime.datetime(2026, 11, 25, 8, 30, tzinfo=datetime.timezone.utc),
                 "local": datetime.datetime(2026, 11, 25, 8, 30), "time": datetime.time(7, 45, 30, 500)}},
    {"floats": [0.1, -0.0, 1e-05, 5e-324, 1.7976931348623157e308], "ints": [0, -1, 10**9, 2**62], "text": "é ☃ \u202e", "yes": True},
])
def test_a_kept_value_comes_back_the_same_types_and_all(store, value):
    cache.put("toml", b"content", value)
    back = cache.get("toml", b"content")
    assert back == value and repr(back) == repr(value)


def test_a_toml_key_that_looks_like_a_tag_is_never_kept(store):
    cache.put("toml", b"content", {"table": {cache.TAG: "date", "v": "2026-11-25"}})
    assert cache.get("toml", b"content") is None


@pytest.mark.parametrize("payload", [
    "[" * 100_000 + "]" * 100_000,  # deeper than any decoder goes
    '["KEY", {"n": ' + "9" * 5000 + "}]",  # a number too long to read
    '["KEY", {"d": {"\\u0000toml": "date", "v": "not a date"}}]',  # a bad tag
    '["KEY", {"d": {"\\u0000toml": "weekday", "v": "1"}}]',  # an unknown tag
])
def test_an_entry_that_cannot_be_read_back_is_a_miss(store, payload):
    store.mkdir(mode=0o700)
    key = cache._key("toml", b"content")
    entry_path(store, "toml", b"content").write_bytes(cache._framed(payload.replace("KEY", key).encode()))
    assert cache.get("toml", b"content") is None


def test_a_value_that_is_not_plain_data_is_not_kept(store):
    cache.put("toml", b"content", {"a": object()})
    assert cache.get("toml", b"content") is None


def run(*args, env):
    code = "import sys; from advisor.cli import main; sys.argv = ['ms-advisor', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.slow
def test_the_command_answers_alike_with_and_without_the_store(tmp_path):
    query = ["advise", "--ms-type", "relapsing", "--severity", "severe", "--prior-failures", "2", "--condition", "heart failure",
             "--format", "json"]
    answers = []
    for setting in ("off", str(tmp_path / "store"), str(tmp_path / "store")):  # off, then filling it, then from it
        result = run(*query, env={**os.environ, cache.ENV: setting})
        assert result.returncode == 0, result.stderr
        answers.append(json.loads(result.stdout))
    assert answers[0] == answers[1] == answers[2]
    assert any(p.name.startswith("proven-") for p in (tmp_path / "store").iterdir())


@pytest.mark.slow
def test_a_store_that_cannot_be_written_changes_nothing(tmp_path):
    store = tmp_path / "store"
    store.mkdir(mode=0o700)
    os.chmod(store, 0o500)  # root writes anyway: then the run fills it, which is fine too
    result = run("advise", "--ms-type", "ppms", "--severity", "moderate", "--format", "json",
                 env={**os.environ, cache.ENV: str(store)})
    assert result.returncode == 0 and json.loads(result.stdout)["listed"] == ["ocrelizumab"], result.stderr
    assert result.stderr == ""


def test_a_file_saved_while_the_kb_loads_is_never_taken_for_the_proven_one(store, kb_copy, monkeypatch):
    """An editor saving, or a checkout landing, while load() runs: the proof kept and the proof
    looked up are of the bytes parsed and checked, never of the file read again later."""
    good = (kb_copy / "cautions.toml").read_bytes()
    broken = good.replace(b"congestive heart failure", b"a heart that fails", 1)
    fingerprint_files = load_module.kb_files

    def saved_meanwhile(data):
        def kb_files(*args, **kwargs):
            (kb_copy / "cautions.toml").write_bytes(data)
            return fingerprint_files(*args, **kwargs)
        return kb_files

    monkeypatch.setattr(load_module, "kb_files", saved_meanwhile(broken))  # the good file checked, the broken one lands
    load(kb_copy)
    monkeypatch.setattr(load_module, "kb_files", fingerprint_files)
    with pytest.raises(KnowledgeBaseError, match="quote"):
        load(kb_copy)
    (kb_copy / "cautions.toml").write_bytes(good)
    load(kb_copy)  # proven
    (kb_copy / "cautions.toml").write_bytes(broken)
    monkeypatch.setattr(load_module, "kb_files", saved_meanwhile(good))  # the broken file read, the good one lands
    with pytest.raises(KnowledgeBaseError, match="quote"):
        load(kb_copy)


def test_a_kb_without_facts_is_proven_again_with_other_packaged_facts(store, counted, kb_copy, monkeypatch):
    """A KB without facts.toml is checked with the packaged facts (rules/facts.toml, read at import),
    which are no module of the code: a proof made with others is not reused."""
    (kb_copy / "facts.toml").unlink()
    load(kb_copy)
    other = [f.model_copy(update={"max": 1}) if f.id == "prior_failures" else f for f in load_module.FACTS]
    monkeypatch.setattr(load_module, "FACTS", other)  # an edited rules/facts.toml: its rules' thresholds of 2 are out of range
    with pytest.raises(KnowledgeBaseError, match="outside what the facts model accepts for prior_failures"):
        load(kb_copy)
    assert counted["checks"] == 2


def test_a_dead_writers_temporary_file_goes_a_live_ones_stays(store):
    """A writer killed between writing and renaming leaves its temporary file: the next write removes
    it once it is an hour old, never one another process may still be writing, nor a file not its own."""
    store.mkdir(mode=0o700)
    dead, live, theirs = store / ".entry-k1ll3d_x.tmp", store / ".entry-wr1t1ng.tmp", store / ".entry-notes.tmp.txt"
    for path in (dead, live, theirs):
        path.write_bytes(b"half an entry")
    two_hours_ago = time.time() - 7200
    os.utime(dead, (two_hours_ago, two_hours_ago))
    os.utime(theirs, (two_hours_ago, two_hours_ago))
    cache.put("toml", b"content", {"a": 1})
    assert not dead.exists() and live.exists() and theirs.exists()
    assert cache.get("toml", b"content") == {"a": 1}


@pytest.mark.parametrize("missing", ["geteuid", "O_NOFOLLOW"])
def test_a_system_that_cannot_check_owners_or_symlinks_has_no_store(missing, store, monkeypatch, kb_copy, counted):
    monkeypatch.delattr(os, missing)
    assert cache.directory() is None
    load(kb_copy)
    assert not store.exists() and counted["checks"] == 1
