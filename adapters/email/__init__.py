"""Email drafting: forward a mail to Kith, get a reply drafted in your own voice.

See :mod:`adapters.email.channel` for the flow; parsing, verification and the draft are pure
modules of their own. The package imports its parts lazily: the worker processes that read
mail (:mod:`adapters.email.reader`) start faster without the channel's SMTP and IMAP code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.base import ChannelSpec
    from adapters.email.channel import EmailChannel, to_inbound
    from adapters.email.config import EmailConfig

    SPEC: ChannelSpec

__all__ = ["SPEC", "EmailChannel", "EmailConfig", "to_inbound"]


def __getattr__(name: str) -> Any:
    if name == "SPEC":
        from adapters.base import ChannelSpec
        from adapters.email.channel import build
        from adapters.email.config import EmailConfig

        spec = ChannelSpec(config=EmailConfig, build=build)
        globals()["SPEC"] = spec
        return spec
    if name in ("EmailChannel", "to_inbound"):
        from adapters.email import channel

        return getattr(channel, name)
    if name == "EmailConfig":
        from adapters.email.config import EmailConfig

        return EmailConfig
    raise AttributeError(name)
