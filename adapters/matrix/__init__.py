"""Matrix (matrix-nio with end-to-end encryption): rooms, mentions, threads, streamed edits."""

from __future__ import annotations

from adapters.base import ChannelContext, ChannelSpec
from adapters.kit import probe as kit_probe
from adapters.matrix.channel import MatrixChannel
from adapters.matrix.config import MatrixConfig
from adapters.matrix.decode import RoomInfo, to_inbound


def build(ctx: ChannelContext, config: MatrixConfig) -> MatrixChannel:
    return MatrixChannel(ctx, config)


async def probe(config: MatrixConfig) -> str | None:
    """The homeserver answers; an access token is checked with whoami (a password is not:
    a login would make a device)."""
    base = config.homeserver.rstrip("/")
    answer = await kit_probe.get(f"{base}/_matrix/client/versions")
    if isinstance(answer, str):
        return f"homeserver {config.homeserver}: {answer}"
    if answer.status_code != 200:
        return f"homeserver {config.homeserver}: HTTP {answer.status_code} for /versions"
    if config.access_token is not None:
        token = config.access_token.get_secret_value()
        whoami = await kit_probe.get(f"{base}/_matrix/client/v3/account/whoami",
                                     {"authorization": f"Bearer {token}"})
        if isinstance(whoami, str):
            return f"homeserver {config.homeserver}: {whoami}"
        if whoami.status_code in (401, 403):
            return "the homeserver rejects the access token"
    return None


SPEC = ChannelSpec(config=MatrixConfig, build=build, probe=probe)

__all__ = ["SPEC", "MatrixChannel", "MatrixConfig", "RoomInfo", "to_inbound"]
