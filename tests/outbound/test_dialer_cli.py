"""`callwright dial`'s bad input: a clear message and an exit code, never a traceback, and
nothing dialled (in process: the checks come before any engine is loaded)."""

from __future__ import annotations

import sys

import pytest

from callwright.cli import main
from callwright.outbound.contacts import Contact
from callwright.store.db import open_db
from tests.outbound.dialer_support import DATA, campaign_file, save_list


def run(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["callwright", "dial", *args])
    with pytest.raises(SystemExit) as done:
        main()
    return int(done.value.code or 0), capsys.readouterr().err


@pytest.fixture
def campaign(tmp_path):
    return campaign_file(tmp_path, flow=DATA / "optout.yaml")


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--sip", "tcp:127.0.0.1:5060"], "only UDP"),
        (["--sip", "udp:127.0.0.1:0"], "give the peer's port"),
        (["--sip", "udp:127.0.0.1:99999"], "expected udp:HOST:PORT"),
        (["--sip", "udp:127.0.0.1:5060", "--cps", "0"], "--cps 0"),
        (["--sip", "udp:127.0.0.1:5060", "--max-wait", "-1"], "--max-wait -1"),
        (["--sip", "udp:127.0.0.1:5060", "--agents", "-2"], "--agents -2"),
    ],
)
def test_bad_options_are_plain_errors(tmp_path, monkeypatch, capsys, campaign, extra, says):
    db = open_db(tmp_path / "c.db")
    save_list(db, [Contact("+15550000001", None, "Etc/UTC")])
    code, err = run(monkeypatch, capsys, str(campaign), "--db", str(tmp_path / "c.db"), *extra)
    assert code == 1 and says in err and "Traceback" not in err
    assert db.execute("select count(*) from dials").fetchone()[0] == 0


def test_a_list_not_imported_says_how_to_import_it(tmp_path, monkeypatch, capsys, campaign):
    code, err = run(
        monkeypatch, capsys, str(campaign), "--sip", "udp:127.0.0.1:5060", "--db", str(tmp_path / "c.db")
    )
    assert code == 1 and "list 'test-list' is not in" in err and "contacts import" in err


def test_a_campaign_with_errors_is_refused_with_its_location(tmp_path, monkeypatch, capsys, campaign):
    campaign.write_text(campaign.read_text().replace("max_attempts: 3", "max_attempts: many"))
    code, err = run(
        monkeypatch, capsys, str(campaign), "--sip", "udp:127.0.0.1:5060", "--db", str(tmp_path / "c.db")
    )
    assert code != 0 and f"{campaign}:6:" in err and "max_attempts" in err and "Traceback" not in err
