"""Text-emitted tool calls recovered from the written-down Llama 3.x / 3.2 / 4 corpus."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from bench.common import print_table
from core.tools.catalog import ALL
from core.tools.textcalls import extract_calls
from core.tools.textfilter import CallFilter

CORPUS = Path(__file__).resolve().parents[2] / "tests/fixtures/toolcalls/llama_corpus.json"


def streamed(text: str, size: int) -> tuple[str, list[Any]]:
    flt = CallFilter(set(ALL))
    shown = "".join(flt.feed(text[i:i + size]) for i in range(0, len(text), size))
    rest, calls = flt.finish()
    return shown + rest, [{"name": c.name, "arguments": c.arguments} for c in calls]


def run() -> None:
    cases = json.loads(CORPUS.read_text())["cases"]
    rows, families = [], sorted({c["family"] for c in cases})
    started = time.perf_counter()
    for family in families:
        mine = [c for c in cases if c["family"] == family]
        whole = sum([{"name": x.name, "arguments": x.arguments}
                     for x in extract_calls(c["text"], set(ALL))[1]] == c["calls"] for c in mine)
        token = sum(streamed(c["text"], 1)[1] == c["calls"] for c in mine)
        chunk = sum(streamed(c["text"], 7)[1] == c["calls"] for c in mine)
        rows.append([family, len(mine), f"{whole}/{len(mine)}", f"{token}/{len(mine)}",
                     f"{chunk}/{len(mine)}"])
    elapsed = time.perf_counter() - started
    print_table("Tool-call parse fallback on the Llama corpus ('none' = text that is not a "
                "call and must be shown unchanged)",
                ["family", "cases", "whole reply", "1-char stream", "7-char stream"], rows)
    print(f"({len(cases) * 3} parses in {elapsed * 1000:.1f} ms)")
