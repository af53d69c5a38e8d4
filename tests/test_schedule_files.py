"""`schedule`: dates near the end of the calendar, and --ics never destroying a file (issue 9)."""

import os
import stat

import pytest
from click.testing import CliRunner

from advisor.atomic import WriteError, write_atomically
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


@pytest.mark.parametrize("drug,start,count", [("natalizumab", "9999-12-01", None), ("alemtuzumab", "9999-06-01", None),
                                              ("ocrelizumab", "9999-12-31", "1"), ("natalizumab", "9999-12-31", "1")])
def test_a_schedule_past_the_year_9999_is_a_clear_error_and_leaves_the_ics_alone(tmp_path, drug, start, count):
    ics = tmp_path / "old.ics"
    ics.write_bytes(OLD)
    r = schedule(drug, "--start", start, *(["--count", count] if count else []), "--ics", str(ics))
    assert_one_line_error(r, f"--start {start}: the schedule runs past the year 9999")
    assert ics.read_bytes() == OLD


def test_the_last_possible_dates_still_work(tmp_path):
    r = schedule("natalizumab", "--start", "9999-01-01", "--count", "13", "--ics", str(tmp_path / "n.ics"))
    assert r.exit_code == 0, r.output
    assert "9999-12-03" in r.stdout and (tmp_path / "n.ics").read_bytes().count(b"BEGIN:VEVENT") == 13


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
