"""One of the encoder's matrix products in each kind `embeddings._linear` offers (float32,
bfloat16, int8), timed on one thread, with the largest error against float32.

    .venv/bin/python bench/matrix_products.py [--tokens 2000]
    ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI .venv/bin/python bench/matrix_products.py   # a CPU with VNNI, no bfloat16
    ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python bench/matrix_products.py               # one with neither

A (tokens x 384) by (384 x 1536) product, MiniLM's feed-forward shape, on random values about
1 in size, one column 20 times larger (as a transformer's outlier features are). The int8 rows
go through the product's own path (`Products.INT8`: weights per output row, activations per
token) and, for comparison, oneDNN's dynamic quantization with one scale for the whole pass on
the full 8-bit range and on 7 bits (`reduce_range`). Without VNNI the full range saturates:
its error jumps from hundredths to tenths (docs/benchmarks.md, session 13).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)
    import torch
    import torch.nn.functional as F  # noqa: N812

    from callwright.nlp import embeddings
    from callwright.nlp.embeddings import Encoder, Products

    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(args.tokens, 384)
    x[:, 5] *= 20
    w = torch.randn(1536, 384) * 0.05
    b = torch.randn(1536) * 0.1

    def timed(f) -> float:  # noqa: ANN001
        f()
        t0 = time.perf_counter()
        for _ in range(args.repeat):
            f()
        return (time.perf_counter() - t0) / args.repeat * 1000

    rows = []
    with torch.inference_mode():
        ref = F.linear(x, w, b)
        for kind in Products:
            Encoder.products = kind
            rows.append(
                (
                    f"{kind} (product path)",
                    timed(lambda: embeddings._linear(x, w, b)),
                    embeddings._linear(x, w, b),
                )
            )
        torch.backends.quantized.engine = "onednn"
        scale = (w.abs().amax(dim=1) / 127).double()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = torch.quantize_per_channel(w, scale, torch.zeros(1536, dtype=torch.long), 0, torch.qint8)
            packed = torch.ops.quantized.linear_prepack(q, b)
        for reduce_range in (False, True):
            f = lambda r=reduce_range: torch.ops.quantized.linear_dynamic(x, packed, r)  # noqa: E731
            rows.append((f"int8, one scale a pass{', 7 bits' if reduce_range else ''}", timed(f), f()))
    print(
        f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', '(unset)')}; native bfloat16 "
        f"{embeddings.native_bf16()}, VNNI {embeddings.native_int8()}; {args.tokens} tokens, one thread"
    )
    print("| products | ms | largest error |\n|---|---:|---:|")
    for name, ms, y in rows:
        print(f"| {name} | {ms:.1f} | {(y - ref).abs().max().item():.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
