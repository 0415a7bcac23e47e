"""`report` on a full disk: a clear error naming the file, never a traceback, and the
previous report left whole.

The disk is a 1 MB tmpfs mounted for the test (Linux, as root); where mounting is not
permitted the tmpfs tests are skipped with the reason, and /dev/full stands in for the
output.
"""

from __future__ import annotations

import errno
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kpi_fixtures import build
from tests import cli_inprocess

from callwright.store.db import open_db


def _report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callwright", "report", "--from", "2026-11-01", "--to", "2026-11-30", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tiny_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as err:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root on Linux): {err}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root on Linux): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=30)


def _fill(disk: Path, leave_kib: int) -> None:
    """Fill `disk` until `leave_kib` KiB are free (or it is full)."""
    usage = shutil.disk_usage(disk)
    size = max(usage.free - leave_kib * 1024, 0)
    with open(disk / "filler", "wb") as f:
        try:
            f.write(b"\0" * size)
        except OSError as err:
            assert err.errno == errno.ENOSPC


@pytest.fixture(scope="module")
def dbfile(tmp_path_factory):
    path = tmp_path_factory.mktemp("full") / "k.db"
    db = build(path)
    db.execute("pragma wal_checkpoint(truncate)")
    db.conn.close()
    return path


@pytest.mark.parametrize("leave_kib", [0, 8, 16, 24, 32, 40, 48])
def test_a_database_on_a_full_disk_is_a_clear_error(tiny_disk, dbfile, leave_kib, tmp_path):
    db_path = tiny_disk / "k.db"
    shutil.copy(dbfile, db_path)
    db = open_db(db_path)
    # a new call marks its day for a recount: the report must write before it reads
    db.execute(
        "insert into calls (id, started_at, direction) values ('late', '2026-11-20T10:00:00-05:00', "
        "'inbound')"
    )
    db.execute("pragma wal_checkpoint(truncate)")
    db.conn.close()
    _fill(tiny_disk, leave_kib)
    # in this process (tests/cli_inprocess.py), seven times; the tests below keep the real process
    done = cli_inprocess.run(
        "report", "--from", "2026-11-01", "--to", "2026-11-30", "--db", db_path, "-o", tmp_path / "r.csv",
        timeout=120,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    if done.returncode != 0:  # with enough room left the report simply works
        assert done.returncode == 1
        first = done.stderr.splitlines()[0]
        assert first.startswith("error: cannot ") and str(db_path) in first, done.stderr
        assert f"hint: the disk holding {db_path} may be full" in done.stderr


def test_a_report_written_to_a_full_disk_keeps_the_previous_one(tiny_disk, dbfile):
    out = tiny_disk / "report.html"
    out.write_text("the previous report\n")
    _fill(tiny_disk, 0)
    done = _report("--db", str(dbfile), "-o", str(out))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: cannot write {out}: No space left on device"), done.stderr
    assert out.read_text() == "the previous report\n"
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler", "report.html"]  # no partial file


def test_a_report_written_to_dev_full_is_a_clear_error(dbfile):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    done = _report("--db", str(dbfile), "-o", "/dev/full", "--format", "csv")
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot write /dev/full: No space left on device"), done.stderr
