"""QA scorecards: a YAML form (sections, weighted items of six kinds) and its scoring.

    card = load_scorecard("scorecards/inbound-service.yaml")
    result = score(card, transcript, metrics, meta)

The format and the scoring convention are described in docs/scorecards.md.
"""

from callwright.qa.scorecard.loader import load_scorecard, loads_scorecard
from callwright.qa.scorecard.matching import PhraseMatcher
from callwright.qa.scorecard.model import Item, Scorecard, Section
from callwright.qa.scorecard.scoring import apply_reviews, score

__all__ = [
    "Item",
    "PhraseMatcher",
    "Scorecard",
    "Section",
    "apply_reviews",
    "load_scorecard",
    "loads_scorecard",
    "score",
]
