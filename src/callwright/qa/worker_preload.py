"""Imported by a batch's worker server before it forks the workers (`qa.batch.WORKER_PRELOAD`):
pure-Python work that every worker would otherwise repeat when it loads its first model.

transformers (5.x) builds its table of checkpoint conversions (about a thousand regular
expressions) the first time any model is loaded, about 1 CPU s per worker process, a third of a
worker's start on imported transcripts; the table is a module-level cache, so building it once
in the server hands it to every forked worker. It starts no thread and loads no weights, which
a fork could not carry over (`qa.batch._run_pool`). Another transformers version without it
loses nothing: the import is then a no-op.
"""

from __future__ import annotations


def build_conversion_table() -> bool:
    """Build transformers' checkpoint conversion table now; False when this version has none."""
    try:
        from transformers.conversion_mapping import get_checkpoint_conversion_mapping
    except ImportError:
        return False
    try:
        get_checkpoint_conversion_mapping("bert")
    except Exception:  # noqa: BLE001 - an optimisation only: the worker builds it as before
        return False
    return True


build_conversion_table()
