"""The channels Kith knows, by the name used in ``[channels.<name>]`` of bot.toml.

Each entry is ``module:attribute`` of an adapter's ``ChannelSpec``, imported on first use
so a fleet pays only for the SDKs it uses.
"""

from __future__ import annotations

import importlib

from adapters.base import ChannelSpec

CHANNELS: dict[str, str] = {
    "web": "adapters.web:SPEC",
    "terminal": "adapters.terminal:SPEC",
    "email": "adapters.email:SPEC",
    "telegram": "adapters.telegram:SPEC",
    "matrix": "adapters.matrix:SPEC",
    "whatsapp": "adapters.whatsapp:TWILIO_SPEC",
    "whatsapp_cloud": "adapters.whatsapp:CLOUD_SPEC",
}


def known_channels() -> list[str]:
    return sorted(CHANNELS)


def channel_spec(name: str) -> ChannelSpec:
    module, _, attr = CHANNELS[name].partition(":")
    spec = getattr(importlib.import_module(module), attr)
    if not isinstance(spec, ChannelSpec):
        raise TypeError(f"{CHANNELS[name]} is not a ChannelSpec")
    return spec
