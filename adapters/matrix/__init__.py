"""Matrix (matrix-nio with end-to-end encryption): rooms, mentions, threads, streamed edits."""

from __future__ import annotations

from adapters.base import ChannelContext, ChannelSpec
from adapters.matrix.channel import MatrixChannel
from adapters.matrix.config import MatrixConfig
from adapters.matrix.decode import RoomInfo, to_inbound


def build(ctx: ChannelContext, config: MatrixConfig) -> MatrixChannel:
    return MatrixChannel(ctx, config)


SPEC = ChannelSpec(config=MatrixConfig, build=build)

__all__ = ["SPEC", "MatrixChannel", "MatrixConfig", "RoomInfo", "to_inbound"]
