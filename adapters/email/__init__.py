"""Email drafting: forward a mail to Kith, get a reply drafted in your own voice.

See :mod:`adapters.email.channel` for the flow; parsing, verification and the draft are pure
modules of their own.
"""

from __future__ import annotations

from adapters.base import ChannelSpec
from adapters.email.channel import EmailChannel, build, to_inbound
from adapters.email.config import EmailConfig

SPEC = ChannelSpec(config=EmailConfig, build=build)

__all__ = ["SPEC", "EmailChannel", "EmailConfig", "to_inbound"]
