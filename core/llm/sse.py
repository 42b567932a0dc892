"""The data of server-sent events, from the bytes of a stream (pure, incremental).

The same events as the SDK's ``openai._streaming.SSEDecoder`` (the WHATWG rules it
follows: CR, LF or CRLF end a line, also split across chunks; ``field: value`` with one
leading space dropped; a comment line starts with ``:``; a blank line dispatches an event
when a field was set since the last one, or an ``id`` ever was; an event left open at the
end is dropped), but only its ``data``, kept as bytes for ``orjson``: no event objects, no
decoding of each line (so bytes that are not UTF-8 fail a reply only in its data, where
``orjson`` refuses them, not in a comment). Reading a reply's events took 7 % of Kith's
CPU in the Telegram burst through the SDK's decoder.
"""

from __future__ import annotations


class SSEData:
    """``feed(chunk)`` returns the data of the events that chunk completed; ``finish()``
    those the end of the stream completes."""

    __slots__ = ("_data", "_event", "_id", "_rest", "_retry")

    def __init__(self) -> None:
        self._rest = b""  # an unfinished line (and a CR that may begin a CRLF)
        self._data: list[bytes] = []
        self._event = False  # a non-empty event name since the last dispatch
        self._retry = False
        self._id = False  # the last id is not empty (the spec keeps it across events)

    def feed(self, chunk: bytes) -> list[bytes]:
        text = self._rest + chunk
        cr = text.endswith(b"\r")  # held back: the LF of a CRLF may come next
        if cr:
            text = text[:-1]
        lines = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        self._rest = lines.pop() + (b"\r" if cr else b"")
        return self._lines(lines)

    def finish(self) -> list[bytes]:
        rest, self._rest = self._rest, b""
        return self._lines([rest[:-1]]) if rest.endswith(b"\r") else []

    def _lines(self, lines: list[bytes]) -> list[bytes]:
        found: list[bytes] = []
        for line in lines:
            if not line:
                if self._data or self._event or self._retry or self._id:
                    found.append(b"\n".join(self._data))
                self._data, self._event, self._retry = [], False, False
                continue
            if line[0] == 0x3A:  # ':' a comment
                continue
            name, _, value = line.partition(b":")
            if value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                self._data.append(value)
            elif name == b"event":
                self._event = bool(value)
            elif name == b"id" and b"\0" not in value:
                self._id = bool(value)  # the last id, kept across events
            elif name == b"retry":
                self._retry = self._retry or _integer(value)
        return found


def _integer(value: bytes) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True
