"""Prometheus metrics, one definition per process (the default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_IN = Counter("kith_messages_in_total", "Messages received", ["channel"])
MESSAGES_OUT = Counter("kith_messages_out_total", "Replies delivered", ["channel", "status"])
DUPLICATES = Counter("kith_duplicates_total", "Inbound messages dropped as duplicates", ["channel"])
TURN_SECONDS = Histogram(
    "kith_turn_seconds",
    "Time from dequeue to reply delivered",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
LLM_TOKENS = Counter("kith_llm_tokens_total", "Tokens used by the language model", ["kind"])
LLM_ERRORS = Counter("kith_llm_errors_total", "Language model errors", ["endpoint", "kind"])
QUEUE_DEPTH = Gauge("kith_queue_depth", "Messages recorded and waiting for their turn")
MEMORY_EXTRACT_FAILURES = Counter(
    "kith_memory_extract_failures_total",
    "Memory extraction answers that were unusable (after repair), by reason",
    ["reason"],
)
LOCAL_YIELDS = Counter(
    "kith_local_background_yields_total",
    "Background model calls the embedded model set aside mid-reply for a waiting person",
)
MEMORY_RERANK_FAILURES = Counter(
    "kith_memory_rerank_failures_total", "Rerank calls that failed (fused order kept)"
)
MEMORY_BATCHES = Counter(
    "kith_memory_batches_total", "Extraction calls, each covering a conversation's new messages"
)
MEMORIES_WRITTEN = Counter("kith_memories_written_total", "Memories stored", ["decision"])
MEMORY_EMBED_FAILURES = Counter(
    "kith_memory_embed_failures_total", "Embedding calls that failed (lexical recall only)"
)
DELIVERY_RETRIES = Counter(
    "kith_delivery_retries_total", "Stored replies delivered again after a platform error",
    ["channel"],
)
UNDELIVERABLE = Counter(
    "kith_undeliverable_total", "Replies given up on: the platform refused them too long",
    ["channel"],
)
HELD = Counter("kith_held_total", "Messages kept because no model answered", ["outcome"])
