"""Server-sent events are read as the SDK reads them: for any stream cut into any chunks,
the data of the events :class:`core.llm.sse.SSEData` finds are those of the SDK's own
``SSEDecoder`` (the oracle), line endings CR, LF and CRLF (also split between chunks),
comments, other fields, ids, retries, empty and multi-line data, an event left open."""

from __future__ import annotations

import itertools

from hypothesis import example, given, settings
from hypothesis import strategies as st
from openai._streaming import SSEDecoder

from core.llm.sse import SSEData

FIELDS = [b"data", b"data", b"data", b"event", b"id", b"retry", b"other", b"", b":"]
VALUES = [b"", b" ", b"{\"a\": 1}", b" {\"choices\": []}", b"[DONE]", b" [DONE]", b"12",
          b" +3", b"x\0y", b"ping", b"a:b", b" \xc3\xa9"]
ENDS = [b"\n", b"\n", b"\r\n", b"\r"]


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    lines = draw(st.lists(st.tuples(st.sampled_from(FIELDS), st.sampled_from([b":", b""]),
                                    st.sampled_from(VALUES), st.sampled_from(ENDS)),
                          max_size=30))
    body = b"".join(field + colon + value + end if field or colon else end
                    for field, colon, value, end in lines)
    body += draw(st.sampled_from([b"", b"data: open", b"data: x\r", b"\r"]))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(body)), max_size=20))))
    return body, cuts


def chunks(body: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *cuts, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=500, deadline=None)
@given(streams())
@example((b"data: {}\r", [8]))  # a CRLF split across chunks: one line end, not two
@example((b"data: x\n\r", []))  # a CR at the very end ends the blank line
@example((b"id: 1\n\ndata: a\n\n\n", []))  # an id makes every blank line an event
@example((b"id: 1\n\nid:\n\n\n", []))  # until an empty one
def test_the_data_of_the_sdks_events(stream: tuple[bytes, list[int]]) -> None:
    body, cuts = stream
    sdk = [e.data.encode() for e in SSEDecoder().iter_bytes(iter(chunks(body, cuts)))]
    ours = SSEData()
    found = [data for chunk in chunks(body, cuts) for data in ours.feed(chunk)]
    assert found + ours.finish() == sdk
