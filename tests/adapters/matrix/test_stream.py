"""Streaming a reply: first send, throttled ``m.replace`` edits, long text split in messages."""

from __future__ import annotations

from typing import Any

from adapters.matrix.outbox import StreamedReply


class Recorder:
    """Stands in for the outbox: records what would be sent, returns event ids."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, room_id: str, content: dict[str, Any]) -> str:
        self.sent.append(content)
        return f"$ev{len(self.sent)}"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_edits_are_throttled_and_the_final_text_always_lands() -> None:
    out, clock = Recorder(), Clock()
    stream = StreamedReply(out, "!r", reply_to="$q", thread="$root", interval=1.0, clock=clock)
    await stream.update("Hel")  # too little to notify anyone about: held back
    assert out.sent == []
    clock.now += 1.0
    await stream.update("Hello")  # held long enough: sent
    await stream.update("Hello there")  # within the interval: no edit
    clock.now += 1.5
    await stream.update("Hello there wor")  # edit
    await stream.update("Hello there world")  # throttled
    await stream.update("Hello there world", final=True)  # the final text, at once
    first, *edits = out.sent
    assert first["body"] == "Hello"
    assert first["m.relates_to"] == {"rel_type": "m.thread", "event_id": "$root",
                                     "is_falling_back": True, "m.in_reply_to": {"event_id": "$q"}}
    assert [e["m.new_content"]["body"] for e in edits] == ["Hello there wor",
                                                            "Hello there world"]
    assert all(e["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$ev1"} for e in edits)
    await stream.update("Hello there world", final=True)
    assert len(out.sent) == 3  # nothing changed: nothing sent


async def test_a_fast_short_reply_is_one_event() -> None:
    out = Recorder()
    stream = StreamedReply(out, "!r", reply_to=None, thread=None, interval=1.0, clock=Clock())
    for text in ("Sure", "Sure, done", "Sure, done."):
        await stream.update(text)
    await stream.update("Sure, done.", final=True)
    assert [c["body"] for c in out.sent] == ["Sure, done."]
    assert "m.relates_to" not in out.sent[0]


async def test_long_replies_continue_in_new_messages() -> None:
    out = Recorder()
    stream = StreamedReply(out, "!r", reply_to=None, thread=None, interval=0.0)
    text = ("paragraph " * 300 + "\n\n") * 8  # ~24 000 characters
    await stream.update(text, final=True)
    bodies = [c["body"] for c in out.sent]
    assert len(bodies) >= 2 and all(len(b) <= 12_000 for b in bodies)
    assert " ".join(bodies).split() == text.split()
    assert "m.relates_to" not in out.sent[0]
