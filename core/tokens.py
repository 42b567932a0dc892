"""Token estimates without a tokenizer download.

Llama 3's tokenizer averages about four characters of English per token; we count a
little pessimistically (3.5) and add a per-message overhead for the chat template, so a
budget computed here is an upper bound in practice.
"""

from __future__ import annotations

MESSAGE_OVERHEAD = 6  # <|start_header_id|>role<|end_header_id|>\n\n ... <|eot_id|>


def estimate_tokens(text: str) -> int:
    return (len(text) * 2 + 6) // 7 + 1


def message_tokens(text: str) -> int:
    return estimate_tokens(text) + MESSAGE_OVERHEAD
