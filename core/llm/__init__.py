"""The ChatModel seam and its OpenAI-compatible implementation (see ``client``)."""

from core.llm.client import PROBE_TIMEOUT, Endpoint, OpenAIChatModel, endpoint_label, rank
from core.llm.faults import error_kind, is_retryable, retry_after_seconds
from core.llm.types import (
    ChatMessage,
    ChatModel,
    Completion,
    Delta,
    LLMError,
    Probe,
    ToolCall,
    Usage,
)
from core.llm.wire import decode_chunk, decode_completion

__all__ = [
    "PROBE_TIMEOUT", "ChatMessage", "ChatModel", "Completion", "Delta", "Endpoint", "LLMError",
    "OpenAIChatModel", "Probe", "ToolCall", "Usage", "decode_chunk", "decode_completion",
    "endpoint_label", "error_kind", "is_retryable", "rank", "retry_after_seconds",
]
