"""What every adapter needs and none should write again: the retry policy for platform calls,
one ``split_text`` with per-platform limits, the throttled send-then-edit streamer, and
``while_leading`` for loops that must have one consumer across replicas."""

from adapters.kit.leading import while_leading
from adapters.kit.retry import (
    PlatformError,
    http_retry_after,
    is_transient,
    matrix_retry_after,
    retry_after_of,
    retrying,
)
from adapters.kit.split import LIMITS, split_text
from adapters.kit.stream import StreamEdit, Surface

__all__ = [
    "LIMITS", "PlatformError", "StreamEdit", "Surface", "http_retry_after", "is_transient",
    "matrix_retry_after", "retry_after_of", "retrying", "split_text", "while_leading",
]
