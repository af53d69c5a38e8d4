"""Files the advisor writes (`schedule --ics`, `batch --out` and `--summary-json`, `kb export`,
`interview --save`): never destroyed: a file of another kind, a device, a FIFO or a directory is refused or
written into as it should be, a symlink's target replaced beside it, permissions and the umask kept, no
temporary file left or planted one used, a full disk or a write error said plainly."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor import Advisor
from advisor.atomic import WriteError, write_atomically
from advisor.batch.errors import OutputError
from advisor.cli import main

OLD = b"BEGIN:VCALENDAR\r\nold content\r\nEND:VCALENDAR\r\n"


def schedule(*args):
    return CliRunner().invoke(main, ["schedule", *args])


def assert_one_line_error(r, *words):
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    for w in words:
        assert w in r.stderr, r.stderr


CASE = '{"id":"ok","ms_type":"spms","severity":"mild"}\n'


@pytest.fixture
def good(tmp_path):
    f = tmp_path / "good.jsonl"
    f.write_text(CASE)
    return f


def cli(*args, input=None):
    return CliRunner().invoke(main, ["batch", *args], input=input)


EXE = str(Path(sys.executable).parent / "ms-advisor")


# --- schedule --ics -----------------------------------------------------------------------------------------

def test_overwriting_keeps_permission_bits_and_leaves_no_temporary_file(tmp_path):
    ics = tmp_path / "private.ics"
    ics.write_bytes(OLD)
    ics.chmod(0o600)
    r = schedule("natalizumab", "--start", "2027-01-04", "--count", "2", "--ics", str(ics))
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(ics.stat().st_mode) == 0o600
    assert ics.read_bytes().count(b"BEGIN:VEVENT") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["private.ics"]


def test_a_new_file_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        write_atomically(str(tmp_path / "new.ics"), b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.ics").stat().st_mode) == 0o640


def test_a_symlink_is_followed_and_its_target_replaced_beside_it(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "cal.ics"
    target.write_bytes(OLD)
    link = tmp_path / "link.ics"
    link.symlink_to(target)
    r = schedule("natalizumab", "--start", "2027-01-04", "--count", "1", "--ics", str(link))
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and b"BEGIN:VEVENT" in target.read_bytes()
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["cal.ics"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.ics"
    link.symlink_to(tmp_path / "made.ics")
    write_atomically(str(link), b"data")
    assert link.is_symlink() and (tmp_path / "made.ics").read_bytes() == b"data"


def test_a_character_device_is_written_into_not_replaced(tmp_path):
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # like /dev/null
    r = schedule("natalizumab", "--start", "2027-01-04", "--count", "1", "--ics", str(null))
    assert r.exit_code == 0, r.output
    assert stat.S_ISCHR(null.stat().st_mode)


def test_a_full_device_is_a_clear_error(tmp_path):
    full = tmp_path / "full"
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # like /dev/full: every write fails ENOSPC
    r = schedule("natalizumab", "--start", "2027-01-04", "--count", "1", "--ics", str(full))
    assert_one_line_error(r, "--ics", "No space left on device")
    assert stat.S_ISCHR(full.stat().st_mode)


def test_a_block_device_and_a_directory_are_refused(tmp_path):
    block = tmp_path / "disk"
    os.mknod(block, 0o600 | stat.S_IFBLK, os.makedev(7, 200))
    assert_one_line_error(schedule("natalizumab", "--start", "2027-01-04", "--ics", str(block)), "block device")
    assert stat.S_ISBLK(block.stat().st_mode)
    r = schedule("natalizumab", "--start", "2027-01-04", "--ics", str(tmp_path))  # click's usage error
    assert r.exit_code == 2 and "'--ics'" in r.stderr and "is a directory" in r.stderr and tmp_path.is_dir()
    with pytest.raises(WriteError, match="directory"):
        write_atomically(str(tmp_path), b"x")
    assert_one_line_error(schedule("natalizumab", "--start", "2027-01-04", "--ics", ""), "--ics", "empty")


def test_a_fifo_without_a_reader_is_an_error_not_a_hang(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    r = schedule("natalizumab", "--start", "2027-01-04", "--ics", str(fifo))
    assert_one_line_error(r, "FIFO with no reader")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_fifo_with_a_reader_gets_the_calendar(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the calendar fits in the pipe's buffer
    try:
        r = schedule("natalizumab", "--start", "2027-01-04", "--count", "3", "--ics", str(fifo))
        data = os.read(reader, 1 << 20)
    finally:
        os.close(reader)
    assert r.exit_code == 0, r.output
    assert data.count(b"BEGIN:VEVENT") == 3 and stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_planted_file_at_a_guessable_temporary_name_is_never_used(tmp_path):
    ics = tmp_path / "cal.ics"
    for planted in (".cal.ics.tmp", "cal.ics.partial", "cal.ics.tmp"):
        (tmp_path / planted).symlink_to(tmp_path / "victim")
    write_atomically(str(ics), b"data")
    assert ics.read_bytes() == b"data" and not (tmp_path / "victim").exists()


def test_a_file_of_another_kind_is_refused_not_replaced_even_through_a_symlink(tmp_path):
    """--ics naming, or linking to, a file that is not a calendar (a shell's start-up file, a system
    file when run as root) is refused and left as it was; an empty file or a calendar is replaced."""
    other = tmp_path / "passwd"
    other.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")
    link = tmp_path / "cal.ics"
    link.symlink_to(other)
    for path in (other, link):
        r = schedule("natalizumab", "--start", "2027-01-04", "--count", "1", "--ics", str(path))
        assert r.exit_code == 2
        assert "holds something else than an iCalendar file" in r.stderr and "refusing to replace it" in r.stderr
        assert other.read_bytes() == b"root:x:0:0:root:/root:/bin/bash\n"
    assert "where its symbolic link leads" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cal.ics", "passwd"]  # no temporary file left
    empty = tmp_path / "empty.ics"
    empty.write_bytes(b"")
    assert schedule("natalizumab", "--start", "2027-01-04", "--count", "1", "--ics", str(empty)).exit_code == 0
    assert empty.read_bytes().startswith(b"BEGIN:VCALENDAR")


# --- kb export and interview --save -------------------------------------------------------------------------

def test_kb_export_and_interview_save_refuse_a_file_of_another_kind(tmp_path):
    from click.testing import CliRunner

    from advisor.cli import main

    keep = tmp_path / "notes.txt"
    keep.write_bytes(b"my own notes\n")
    r = CliRunner().invoke(main, ["kb", "export", "--dmn", str(keep)])
    assert r.exit_code == 2 and "holds something else than a DMN file" in r.stderr
    r = CliRunner().invoke(main, ["interview", "--save", str(keep), "--format", "json"], input="relapsing\nsevere\n0\nno\n\n\n")
    assert "holds something else than a case file" in r.stderr
    assert keep.read_bytes() == b"my own notes\n"
    dmn = tmp_path / "kb.dmn"
    assert CliRunner().invoke(main, ["kb", "export", "--dmn", str(dmn)]).exit_code == 0
    assert CliRunner().invoke(main, ["kb", "export", "--dmn", str(dmn)]).exit_code == 0  # a DMN file is replaced


# --- batch --out and --summary-json -------------------------------------------------------------------------

def test_out_refusals_before_any_work(tmp_path, good):
    d = tmp_path / "cases"
    d.mkdir()
    (d / "a.jsonl").write_text(CASE)
    for out, why in [("", "empty"), (str(tmp_path), "is a directory"), (str(good), "also an input"),
                     (str(d / "results.jsonl"), "inside the input directory")]:
        r = cli(str(good), str(d), "--out", out)
        assert r.exit_code == 2 and why in r.stderr, (out, r.stderr)
    assert sorted(p.name for p in d.iterdir()) == ["a.jsonl"] and good.read_text() == CASE


def test_out_device_fifo_and_symlink_are_never_replaced(tmp_path, good):
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    assert cli(str(good), "--out", str(null)).exit_code == 0
    assert stat.S_ISCHR(os.stat(null).st_mode)
    target = tmp_path / "real.jsonl"
    target.write_text("{\"id\": \"old\"}\n")  # an earlier run's records (another kind of file is refused)
    os.chmod(target, 0o600)
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    assert cli(str(good), "--out", str(link)).exit_code == 0
    assert link.is_symlink() and json.loads(target.read_text())["id"] == "ok"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    r = cli(str(good), "--out", str(fifo))  # no reader: an error, not a wait
    assert r.exit_code == 2 and "fifo" in r.stderr and stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_temp_file_is_exclusive_and_a_planted_partial_symlink_is_not_followed(tmp_path, good):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (tmp_path / "out.jsonl.partial").symlink_to(victim)
    assert cli(str(good), "--out", str(tmp_path / "out.jsonl")).exit_code == 0
    assert victim.read_text() == "keep me"


def test_new_output_follows_the_umask(tmp_path, good):
    old = os.umask(0o027)
    try:
        assert cli(str(good), "--out", str(tmp_path / "new.jsonl")).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.jsonl").st_mode) == 0o640


@pytest.mark.slow
def test_disk_full_exits_2_naming_the_file_and_count(tmp_path, good):
    full = tmp_path / "full"
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    big = tmp_path / "big.jsonl"
    big.write_text(CASE * 20_000)
    p = subprocess.run([EXE, "batch", str(big), "--out", str(full), "--workers", "1"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and str(full) in p.stderr and "complete record(s)" in p.stderr
    with open(full, "wb") as stdout:  # stdout to a full device
        p = subprocess.run([EXE, "batch", str(big), "--out", "-"], stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "stdout" in p.stderr and "No space left" in p.stderr


@pytest.mark.slow
def test_write_error_keeps_only_whole_records(tmp_path, good, monkeypatch):
    from advisor.batch import output
    big = tmp_path / "big.jsonl"
    big.write_text("".join(f'{{"id":"c{i}","ms_type":"spms","severity":"mild"}}\n' for i in range(20_000)))
    real = output.OutputFile.write
    calls = [0]

    def write(self, data):
        calls[0] += 1
        if calls[0] == 4:
            real(self, data[:100])
            raise OSError(28, "No space left on device")
        real(self, data)
    monkeypatch.setattr(output.OutputFile, "write", write)
    with pytest.raises(OutputError) as e:
        output.run_to_file([str(big)], str(tmp_path / "o.jsonl"), advisor=Advisor(), progress=False)
    n = int(str(e.value).split("; ")[1].split()[0])
    [kept] = [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    ids = [json.loads(line)["id"] for line in kept.read_text().splitlines()]
    assert ids == [f"c{i}" for i in range(n)] and n > 0 and str(kept) in str(e.value)


def test_out_and_summary_json_never_replace_a_file_of_another_kind(tmp_path, good):
    """--out or --summary-json naming, or linking to, a file that is not a run's output (a spreadsheet,
    a shell's start-up file, a system file when run as root) is refused before any work, left as it was."""
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    link = tmp_path / "results.jsonl"
    link.symlink_to(victim)
    for option, path in (("--out", link), ("--out", victim)):
        r = cli(str(good), option, str(path))
        assert r.exit_code == 2 and "holds something else than batch records" in r.stderr
    r = cli(str(good), "--out", str(tmp_path / "new.jsonl"), "--summary-json", str(link))
    assert r.exit_code == 2 and "holds something else than a batch summary" in r.stderr
    assert victim.read_text() == "keep me\n" and not (tmp_path / "new.jsonl").exists()
    assert cli(str(good), "--out", str(tmp_path / "again.jsonl")).exit_code == 0
    assert cli(str(good), "--out", str(tmp_path / "again.jsonl"), "--format", "csv").exit_code == 0  # its own output is replaced
