"""bench/qa_real/cue_check.py, how a cue edit is vetted before any evaluation run: a cue wording
said in another pool's held-out sentence is reported (a false pass the cue could cause), one that
a not_cue is said over is not, and an unchanged card reports nothing."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]


def _cue_check():
    sys.path.insert(0, str(ROOT / "bench" / "qa_real"))
    spec = importlib.util.spec_from_file_location("cue_check", ROOT / "bench" / "qa_real" / "cue_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_not_cue_said_over_a_cue_vetoes_it():
    cc = _cue_check()
    rule = SimpleNamespace(cues=("else", "(other|another) (trade|trades)?"), not_cues=("someone else",))
    assert cc.hits(rule, "is there someone else on the account") == []
    assert cc.hits(rule, "Anything else? Other trades?") == ["else", "other trades"]


def test_new_cue_wordings_in_other_pools_are_reported(tmp_path, capsys):
    cc = _cue_check()
    card = (ROOT / "scorecards" / "bank.yaml").read_text("utf-8")
    args = argparse.Namespace(item="further-help", old=cc.CARD, old_rev="HEAD", new=cc.CARD)
    assert cc.check_pools(args) == 0
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith("0 sentence(s) of other pools said a new cue wording and no old one")
    )
    marker = '"(questions|issues|queries|concerns) (i|we) (can|could|may|might)'
    assert card.count(marker) == 1
    wider = (
        tmp_path / "bank.yaml"
    )  # a cue a dismissive sentence of heldout3 says ("... me to explain it ...")
    wider.write_text(card.replace(marker, '"me to explain?", ' + marker), "utf-8")
    assert cc.check_pools(argparse.Namespace(**{**vars(args), "new": wider})) == 1
    assert "heldout3 dismissive ['me to explain']" in capsys.readouterr().out
