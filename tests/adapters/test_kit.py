"""adapters.kit: one split_text, one retry policy for every platform's Retry-After, and the
throttled send-then-edit streamer (text taken when the call goes out)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.error import RetryAfter

from adapters.kit import (
    LIMITS,
    PlatformError,
    StreamEdit,
    http_retry_after,
    matrix_retry_after,
    retry_after_of,
    retrying,
    split_text,
)
from adapters.kit.stream import TextSource
from core.events import Addressed, ChatKind, ConversationKey, Inbound, Sender, Trust
from core.ids import PlatformMessageId
from core.reply import Reply

INBOUND = Inbound(id="t:1", conversation=ConversationKey("kith", "test", "c"),
                  sender=Sender("u"), text="hi", trust=Trust.OWNER, addressed=Addressed.DIRECT,
                  chat=ChatKind.DIRECT)


def test_split_prefers_paragraphs_then_sentences() -> None:
    text = "A" * 3000 + "\n\n" + "B" * 2000
    assert split_text(text, LIMITS["telegram"]) == ["A" * 3000, "B" * 2000]
    sentences = " ".join(["This is one sentence."] * 300)
    chunks = split_text(sentences, 4096)
    assert all(len(c) <= 4096 and c.endswith(".") for c in chunks)
    assert " ".join(chunks) == sentences
    assert split_text("x" * 5000, 4096) == ["x" * 4096, "x" * 904]
    assert split_text("x" * 1500, 700) == ["x" * 700, "x" * 700, "x" * 100]
    assert split_text("short", LIMITS["twilio"]) == ["short"]
    assert split_text("   ", 1600) == []
    words = " ".join(["word"] * 1000)
    pieces = split_text(words, 1600)
    assert all(len(p) <= 1600 for p in pieces) and " ".join(pieces) == words


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .!?\n")), max_size=600),
       st.integers(20, 200), st.integers(0, 600))
def test_split_is_bounded_and_stable_while_streaming(text: str, limit: int, cut: int) -> None:
    chunks = split_text(text, limit)
    assert all(0 < len(c) <= limit and c.strip() for c in chunks)
    prefix = split_text(text[:cut], limit)
    settled = max(len(prefix) - 1, 0)  # all but the last chunk of the prefix
    assert prefix[:settled] == chunks[:settled]  # sent chunks never change


def test_every_platforms_retry_after_form() -> None:
    assert retry_after_of(RetryAfter(7)) == 7.0
    assert retry_after_of(RetryAfter(timedelta(seconds=3))) == 3.0  # newer PTB: timedelta
    assert retry_after_of(PlatformError("x", status=429, retry_after=2.5)) == 2.5
    assert retry_after_of(PlatformError("x", status=502)) is None
    assert http_retry_after({"retry-after": "12"}) == 12.0
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert http_retry_after({"retry-after": "Tue, 01 Dec 2026 08:00:30 GMT"}, now) == 30.0
    assert http_retry_after({"retry-after": "soon"}) is None
    assert http_retry_after({}) is None
    assert matrix_retry_after("M_LIMIT_EXCEEDED", "Too Many Requests", 1500) == 1.5
    nested = json.dumps({"errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests",
                         "retry_after_ms": 4079})
    assert matrix_retry_after("M_UNKNOWN", nested, None) == 4.079
    assert matrix_retry_after("M_FORBIDDEN", "nope", None) is None
    assert matrix_retry_after("M_UNKNOWN", "{broken", None) is None
    response = httpx.Response(429, headers={"retry-after": "4"},
                              request=httpx.Request("POST", "http://127.0.0.1/"))
    assert retry_after_of(httpx.HTTPStatusError("x", request=response.request,
                                                response=response)) == 4.0


async def test_policy_waits_as_asked_retries_5xx_and_gives_up() -> None:
    script: list[BaseException | str] = [PlatformError("slow down", status=429, retry_after=0.2),
                                         PlatformError("oops", status=503), "ok"]
    waits: list[float] = []

    async def call() -> str:
        item = script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    started = time.monotonic()
    result = await retrying(attempts=2, backoff=0.01,
                            on_retry=lambda e, s: waits.append(s))(call)
    assert result == "ok" and not script
    assert waits[0] == 0.2 and waits[1] < 0.02 and time.monotonic() - started >= 0.2

    async def always() -> str:
        raise PlatformError("down", status=500)

    with pytest.raises(PlatformError):
        await retrying(attempts=3, backoff=0.001)(always)

    async def refused() -> str:
        raise PlatformError("bad request", status=400)

    calls = 0

    async def counted() -> str:
        nonlocal calls
        calls += 1
        return await refused()

    with pytest.raises(PlatformError):
        await retrying(attempts=5)(counted)
    assert calls == 1  # a 4xx is never retried


class Surface:
    """A platform that takes ``delay`` seconds of pacing before every call."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[tuple[str, str]] = []
        self.texts: dict[str, str] = {}

    async def send(self, text: TextSource, first: bool) -> tuple[PlatformMessageId, str]:
        await asyncio.sleep(self.delay)
        chunk = text()
        message_id = PlatformMessageId(f"m{len(self.texts) + 1}")
        self.texts[message_id] = chunk
        self.calls.append(("send", chunk))
        return message_id, chunk

    async def edit(self, message_id: PlatformMessageId, text: TextSource) -> str | None:
        await asyncio.sleep(self.delay)
        chunk = text()
        self.calls.append(("edit", chunk))
        if message_id not in self.texts:
            return None
        self.texts[message_id] = chunk
        return chunk


async def words(pieces: list[str], gap: float) -> object:
    for piece in pieces:
        await asyncio.sleep(gap)
        yield piece


def reply_of(pieces: list[str], gap: float,
             shown: tuple[PlatformMessageId, ...] = ()) -> Reply:
    return Reply(INBOUND, shown).attach(words(pieces, gap))  # type: ignore[arg-type]


async def test_a_reply_done_within_the_hold_is_one_call() -> None:
    surface = Surface()
    stream = StreamEdit(surface, reply_of(["Sure", ", done", "."], 0.01), limit=4096,
                        interval=1.0, hold_first=1.0, split=split_text)
    assert await stream.run() == ("m1",)
    assert surface.calls == [("send", "Sure, done.")]


async def test_text_is_taken_after_the_wait_and_edits_are_throttled() -> None:
    surface = Surface(delay=0.3)  # e.g. the global rate limiter is busy
    pieces = [f"w{n} " for n in range(12)]
    stream = StreamEdit(surface, reply_of(pieces, 0.03), limit=4096, interval=0.05,
                        hold_first=0.05, split=split_text)
    await stream.run()
    first = surface.calls[0][1]
    assert len(first.split()) > 3  # what arrived during the 0.3 s wait went out with it
    assert surface.texts["m1"] == "".join(pieces)
    assert len(surface.calls) <= 3


async def test_shown_messages_are_finished_not_sent_again() -> None:
    surface = Surface()
    surface.texts["m1"] = "half a rep"
    reply = reply_of(["half a reply, now whole."], 0.0, shown=(PlatformMessageId("m1"),))
    recorded: list[tuple[PlatformMessageId, ...]] = []

    async def record(ids: tuple[PlatformMessageId, ...]) -> None:
        recorded.append(ids)

    reply.on_sent(record)
    stream = StreamEdit(surface, reply, limit=4096, interval=0.05, hold_first=0.05,
                        split=split_text)
    assert await stream.run() == ("m1",)
    assert surface.calls == [("edit", "half a reply, now whole.")] and recorded == []


async def test_a_gone_message_continues_in_a_new_one_and_long_text_splits() -> None:
    surface = Surface()
    text = ("paragraph " * 300 + "\n\n") * 3  # ~9 000 characters
    gone = reply_of([text], 0.0, shown=(PlatformMessageId("deleted"),))
    stream = StreamEdit(surface, gone, limit=4096, interval=0.0, hold_first=0.0,
                        split=split_text)
    ids = await stream.run()
    assert len(ids) >= 3 and "deleted" not in ids
    assert " ".join(surface.texts[i] for i in ids).split() == text.split()
