"""structlog set-up: JSON when not a TTY, context variables, and secret redaction.

Every secret the process knows (settings and bot credentials) is registered with
:func:`register_secrets`; a processor replaces them anywhere in an event, and standard
library loggers (httpx, uvicorn, nio, telegram) are routed through the same processors so
a token inside a URL never reaches the output.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "[REDACTED]"

# Secret-shaped things we redact even when nobody registered them.
_PATTERNS = [
    re.compile(r"(?<=/bot)\d{5,12}:[A-Za-z0-9_-]{30,}"),  # Telegram token inside a Bot API URL
    re.compile(r"(?i)(?<=bearer )[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)(?<=access_token=)[^&\s\"']+"),
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),  # user:password@host
]
# A secret under its name, in the repr or JSON of a response an SDK logs before Kith can
# register it (nio logs the login response, access token and all, at DEBUG).
SECRET_KEYS = r"(?:access_token|refresh_token|password|passwd|api_key|auth_token|secret)"
_KEYED = re.compile(r"(?i)((?<![A-Za-z0-9_])['\"]?" + SECRET_KEYS
                    + r"['\"]?\s*[:=]\s*['\"]?)([^'\"\s,}&]+)")
_SECRET_KEY = re.compile(r"(?i)^" + SECRET_KEYS + "$")


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._regex: re.Pattern[str] | None = None

    def register(self, secrets: Iterable[str]) -> None:
        self._secrets.update(s for s in secrets if s and len(s) >= 4)
        if self._secrets:
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._regex = re.compile("|".join(re.escape(s) for s in ordered))

    def text(self, value: str) -> str:
        if self._regex is not None:
            value = self._regex.sub(REDACTED, value)
        for pattern in _PATTERNS:
            value = pattern.sub(REDACTED, value)
        return _KEYED.sub(lambda m: m.group(1) + REDACTED, value)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: REDACTED if isinstance(k, str) and _SECRET_KEY.match(k) and v
                    else self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.value(v) for v in value)
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.text(repr(value) if not isinstance(value, BaseException) else str(value))


redactor = Redactor()


def register_secrets(secrets: Iterable[str]) -> None:
    redactor.register(secrets)


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, val in list(event.items()):
        event[key] = redactor.value(val)
    return event


def _render_exc(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # exc_info is rendered before redaction so tracebacks are redacted too.
    return structlog.processors.format_exc_info(_, __, event)


def configure(
    level: str = "INFO", json: bool | None = None, stream: TextIO | None = None
) -> None:
    """Configure structlog and the standard library logging once for the process."""
    out = stream or sys.stderr
    as_json = (not out.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _render_exc,
            _redact,
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "hpack", "aiosqlite", "multipart"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)


bind_context = structlog.contextvars.bind_contextvars
clear_context = structlog.contextvars.clear_contextvars
bound_context = structlog.contextvars.bound_contextvars
