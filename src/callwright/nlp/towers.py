"""Re-stacking the layers of a loaded BERT-style encoder without copying its weights.

The sentiment model fine-tunes only the top layers of the shared encoder. At run time
we want "packaged bottom layers + our top layers" as a normal Hugging Face model, and
during training "our top layers fed from cached hidden states". Both are the same
trick: a shallow copy of the model object whose layer list is swapped. The copy shares
every parameter tensor with the original and keeps the library's own forward (masking,
attention backend), so nothing here depends on a particular transformers version's
layer call signature.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn


class PassThroughEmbeddings(nn.Module):
    """Stands in for the embedding layer when the input is already a hidden state."""

    def forward(self, *args: Any, inputs_embeds: torch.Tensor | None = None, **kwargs: Any):
        if inputs_embeds is None:
            raise ValueError("this tower takes hidden states as inputs_embeds")
        return inputs_embeds


def submodule(model: nn.Module, name: str) -> Any:
    """`model.<name>`, typed Any: torch types a child attribute as `Tensor | Module`, and the
    children read here (encoder, layer list, embeddings) vary with the transformers model."""
    return getattr(model, name)


def layer_list(model: nn.Module) -> nn.ModuleList:
    """The transformer blocks of a BERT-like model (model.encoder.layer)."""
    try:
        layers: nn.ModuleList = submodule(submodule(model, "encoder"), "layer")
    except AttributeError as err:
        raise TypeError(
            f"{type(model).__name__} has no encoder.layer list; only BERT-style encoders "
            "can host the sentiment layers"
        ) from err
    return layers


def restack(model: nn.Module, layers: Iterable[nn.Module], *, from_hidden_states: bool = False) -> nn.Module:
    """A view of `model` running `layers` instead of its own blocks (weights are shared).

    With from_hidden_states=True the view skips the embedding layer: call it with
    `inputs_embeds=<hidden states>` and `attention_mask=<token mask>`.
    """
    encoder = copy.copy(submodule(model, "encoder"))
    encoder._modules = dict(submodule(model, "encoder")._modules)
    encoder.layer = nn.ModuleList(list(layers))
    view = copy.copy(model)
    view._modules = dict(model._modules)
    view.encoder = encoder
    view.pooler = None  # type: ignore[assignment]  # torch drops a child set to None; its stub omits None
    if from_hidden_states:
        view.embeddings = PassThroughEmbeddings()
    return view


def bottom(model: nn.Module, n_layers: int) -> nn.Module:
    """The packaged model cut after its first n_layers blocks (embeddings included)."""
    return restack(model, list(layer_list(model))[:n_layers])


def cloned_top(model: nn.Module, n_top: int) -> nn.ModuleList:
    """Independent copies of the last n_top blocks, to fine-tune without touching the original."""
    return nn.ModuleList(copy.deepcopy(layer) for layer in list(layer_list(model))[-n_top:])
