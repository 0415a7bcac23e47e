"""Human-rated sentiment data (the VADER ground-truth files) and how ratings become labels.

The files hold the mean rating of at least 20 raters on -4..+4 per text. The model
is trained and measured on three-way labels, so the neutral band lives here, in one
place, and every trainer, evaluator and benchmark labels texts the same way.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from callwright.errors import DataError

log = logging.getLogger(__name__)

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")

# A mean rating whose magnitude is below this is "neutral". The raters' scale has
# integer anchors and 0 means neutral, so |mean| < 0.5 is exactly "the mean rounds to
# the neutral anchor"; docs/sentiment.md shows the rating histograms behind the choice.
NEUTRAL_BAND = 0.5

# The held-out test split is fixed (not tied to the training seed), so that every
# training run, however seeded, leaves out the same texts for evaluation.
HELD_OUT_FRACTION = 0.2
SPLIT_SEED = 20240611

# domain name -> file name inside the data directory
DOMAIN_FILES: dict[str, str] = {
    "tweets": "tweets_GroundTruth.txt",
    "movies": "movieReviewSnippets_GroundTruth.txt",
    "products": "amazonReviewSnippets_GroundTruth.txt",
}


@dataclass(frozen=True)
class RatedText:
    """One human-rated text: where it came from, its mean rating and its label."""

    domain: str
    ident: str
    rating: float
    text: str

    def label(self, band: float = NEUTRAL_BAND) -> str:
        return label_for_rating(self.rating, band)


def label_for_rating(rating: float, band: float = NEUTRAL_BAND) -> str:
    """Three-way label of a mean rating on -4..+4."""
    if rating <= -band:
        return "negative"
    if rating >= band:
        return "positive"
    return "neutral"


def repo_root() -> Path:
    """The source checkout this package runs from (src/callwright/nlp/ -> repo root)."""
    return Path(__file__).resolve().parents[3]


def default_data_dir() -> Path:
    """../shared/data/vader next to the repository, wherever the command is run from."""
    return repo_root().parent / "shared" / "data" / "vader"


def read_domain(path: Path, domain: str) -> list[RatedText]:
    """Read one `ID <TAB> RATING <TAB> TEXT` file; undecodable bytes become U+FFFD."""
    rows: list[RatedText] = []
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t", 2)
            try:
                rating = float(parts[1])
                text = parts[2]
            except (IndexError, ValueError) as err:
                raise DataError(
                    f"{path}:{lineno}: expected 'ID<TAB>RATING<TAB>TEXT', got {line[:80]!r}",
                    hint="use the *_GroundTruth.txt files from the VADER release unchanged",
                ) from err
            rows.append(RatedText(domain, parts[0], rating, text.strip()))
    return rows


def load_rated_texts(
    data_dir: Path | None = None, domains: Iterable[str] | None = None
) -> dict[str, list[RatedText]]:
    """All rated texts per domain, with a message that says where to put missing files."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    wanted = list(domains) if domains is not None else list(DOMAIN_FILES)
    unknown = [d for d in wanted if d not in DOMAIN_FILES]
    if unknown:
        raise DataError(
            f"unknown sentiment domain(s) {', '.join(unknown)}",
            hint=f"choose from {', '.join(DOMAIN_FILES)}",
        )
    if not data_dir.is_dir():
        raise DataError(
            f"sentiment training data not found: {data_dir} is not a directory",
            hint="put the VADER *_GroundTruth.txt files in ../shared/data/vader beside the "
            "repository, or pass --data DIR",
        )
    out: dict[str, list[RatedText]] = {}
    for domain in wanted:
        path = data_dir / DOMAIN_FILES[domain]
        if not path.is_file():
            raise DataError(
                f"sentiment data file missing: {path}",
                hint=f"{data_dir} needs {', '.join(DOMAIN_FILES[d] for d in wanted)}",
            )
        out[domain] = read_domain(path, domain)
        log.info("read %d rated texts from %s", len(out[domain]), path)
    return out


def split_held_out(
    rows: Sequence[RatedText], test_fraction: float, seed: int, band: float = NEUTRAL_BAND
) -> tuple[list[RatedText], list[RatedText]]:
    """Seeded split stratified by label, so rare neutrals appear on both sides."""
    rng = random.Random(seed)
    train: list[RatedText] = []
    test: list[RatedText] = []
    for label in LABELS:
        group = [r for r in rows if r.label(band) == label]
        rng.shuffle(group)
        n_test = round(len(group) * test_fraction)
        test.extend(group[:n_test])
        train.extend(group[n_test:])
    # restore a stable, source-like order so callers do not depend on label grouping
    order = {id(r): i for i, r in enumerate(rows)}
    train.sort(key=lambda r: order[id(r)])
    test.sort(key=lambda r: order[id(r)])
    return train, test


def subsample(rows: Sequence[RatedText], n: int, seed: int) -> list[RatedText]:
    """A seeded random subset of at most n rows (for quick runs)."""
    if n >= len(rows):
        return list(rows)
    return random.Random(seed).sample(list(rows), n)


def held_out_splits(
    data: dict[str, list[RatedText]], limit: int = 0, band: float = NEUTRAL_BAND
) -> dict[str, tuple[list[RatedText], list[RatedText]]]:
    """(train, test) per domain. Splitting before limiting keeps a small run's test texts
    inside the full run's test split, so a quick model is never scored on its own data."""
    out = {}
    for domain, rows in data.items():
        train, test = split_held_out(rows, HELD_OUT_FRACTION, SPLIT_SEED, band)
        if limit:
            n_test = round(limit * HELD_OUT_FRACTION)
            train = subsample(train, limit - n_test, SPLIT_SEED)
            test = subsample(test, n_test, SPLIT_SEED)
        out[domain] = (train, test)
    return out


def limited(data: dict[str, list[RatedText]], limit: int) -> dict[str, list[RatedText]]:
    """At most `limit` texts per domain (0 = all), the same subset on every run."""
    if not limit:
        return data
    return {d: subsample(rows, limit, SPLIT_SEED) for d, rows in data.items()}
