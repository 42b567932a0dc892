"""The web chat's response stream follows the relay and falls back on the stored reply."""

from __future__ import annotations

import asyncio

import pytest

from adapters.web_stream import StreamCut, follow
from core.relay import LocalRelay, Piece, ReplyStream, chunks
from core.store.base import Delivery, InboxStatus

ID = "web:kith:s:1"


async def _collect(relay: LocalRelay, publish: object, state: Delivery | None = None,
                   gap: bool = False) -> list[str]:
    async def stored() -> Delivery | None:
        return state

    async with relay.subscribe(ID) as sub:
        sub.gap = gap
        task = asyncio.ensure_future(publish())  # type: ignore[operator]
        out = [p async for p in follow(sub, stored, quiet=0.05)]
        await task
        return out


async def test_pieces_then_end() -> None:
    relay = LocalRelay()

    async def publish() -> None:
        stream = ReplyStream(relay, ID)
        for word in ("Hello", ", ", "world"):
            await stream.send(word)
        await stream.end()

    assert "".join(await _collect(relay, publish)) == "Hello, world"


async def test_long_pieces_are_chunked_and_rejoined() -> None:
    relay = LocalRelay()
    text = "ü" * 2500 + "x"

    async def publish() -> None:
        stream = ReplyStream(relay, ID)
        await stream.send(text)
        await stream.end()
        assert stream.seq == 4  # three parts and the end

    assert "".join(await _collect(relay, publish)) == text
    assert [len(c) for c in chunks(text)] == [1000, 1000, 501] and chunks("") == [""]


async def test_out_of_order_pieces_are_put_in_order() -> None:
    relay = LocalRelay()

    async def publish() -> None:
        for piece in (Piece("a", 1, "b"), Piece("a", 0, "a"), Piece("a", 2, "c"),
                      Piece("a", 3, end=True)):  # the end ends the subscription: it is last
            await relay.publish(ID, piece)

    assert "".join(await _collect(relay, publish)) == "abc"


async def test_a_second_attempt_continues_where_it_repeats_the_first() -> None:
    relay = LocalRelay()

    async def publish() -> None:  # the first replica died after "Hel"; another re-delivers
        await relay.publish(ID, Piece("a", 0, "Hel"))
        await relay.publish(ID, Piece("b", 0, "He"))
        await relay.publish(ID, Piece("b", 1, "llo"))
        await relay.publish(ID, Piece("b", 2, end=True))

    assert "".join(await _collect(relay, publish)) == "Hello"


async def test_a_different_reply_cuts_the_stream() -> None:
    relay = LocalRelay()

    async def publish() -> None:
        await relay.publish(ID, Piece("a", 0, "Hel"))
        await relay.publish(ID, Piece("b", 0, "Goodbye"))

    with pytest.raises(StreamCut):
        await _collect(relay, publish)


async def test_silence_then_the_stored_reply_finishes_the_stream() -> None:
    relay = LocalRelay()

    async def publish() -> None:
        await relay.publish(ID, Piece("a", 0, "Hel"))  # and its end never comes

    done = Delivery(InboxStatus.DELIVERED, "Hello there")
    assert "".join(await _collect(relay, publish, done)) == "Hello there"


async def test_a_gap_turns_to_the_store_once_the_reply_is_stored() -> None:
    relay = LocalRelay()

    async def publish() -> None:
        await relay.publish(ID, Piece("a", 0, "Hel"))
        await relay.publish(ID, Piece("a", 2, "ere"))  # seq 1 was lost

    done = Delivery(InboxStatus.ANSWERED, "Hello there")
    assert "".join(await _collect(relay, publish, done)) == "Hello there"


async def test_a_stored_reply_that_differs_cuts_the_stream() -> None:
    relay = LocalRelay()

    async def publish() -> None:
        await relay.publish(ID, Piece("a", 0, "Hel"))

    with pytest.raises(StreamCut):
        await _collect(relay, publish, Delivery(InboxStatus.DELIVERED, "Bye"))


async def test_pending_keeps_waiting() -> None:
    relay = LocalRelay()

    async def publish() -> None:
        await asyncio.sleep(0.3)  # several quiet periods: the store says pending
        await relay.publish(ID, Piece("a", 0, "late"))
        await relay.publish(ID, Piece("a", 1, end=True))

    assert await _collect(relay, publish, Delivery(InboxStatus.PENDING)) == ["late"]


async def test_closing_the_relay_cuts_waiting_streams() -> None:
    relay = LocalRelay()

    async def publish() -> None:
        await asyncio.sleep(0.05)
        await relay.close()

    with pytest.raises(StreamCut):
        await _collect(relay, publish, Delivery(InboxStatus.PENDING))


async def test_one_subscriber_per_id_and_the_end_frees_it() -> None:
    from core.relay import AlreadySubscribed

    relay = LocalRelay()
    async with relay.subscribe(ID) as sub:
        with pytest.raises(AlreadySubscribed):
            async with relay.subscribe(ID):
                pass
        await relay.publish(ID, Piece("a", 0, end=True))
        assert ID not in relay.subscribers.by_id and sub.queue.qsize() == 1
    async with relay.subscribe(ID):
        pass


async def test_a_burst_of_tokens_goes_out_as_few_pieces() -> None:
    relay = LocalRelay()
    words = [f"w{i} " for i in range(200)]

    async def publish() -> None:
        stream = ReplyStream(relay, ID, every=0.05)
        for word in words:  # a fast model: 200 tokens within a few milliseconds
            await stream.send(word)
        await stream.end()
        assert stream.seq <= 3  # the first token at once, the rest together, the end

    assert "".join(await _collect(relay, publish)) == "".join(words)
