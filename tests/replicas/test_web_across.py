"""Issue #14, test 4: a web chat POST to replica A while replica B runs the conversation's
turns: the turn runs on B, and A's response streams the reply (LISTEN/NOTIFY relay)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx

from tests.fakes.llm import FakeLLM, running_fake_llm
from tests.replicas.cluster import Cluster, Replica
from tests.support import write_bot

SESSION = "across-replicas-1"


def _ran_turn(replica: Replica, inbound_id: str) -> bool:
    for line in replica.log.read_bytes().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "turn" and event.get("message_id") == inbound_id:
            return True
    return False


async def _post(client: httpx.AsyncClient, replica: Replica, client_id: str,
                text: str) -> tuple[list[str], float]:
    """The pieces of the streamed reply, and when the first one came."""
    body = {"session": SESSION, "id": client_id, "text": text}
    pieces: list[str] = []
    first = 0.0
    async with client.stream("POST", f"{replica.url}/chat/kith/send", json=body,
                             timeout=60) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_text():
            if chunk and not pieces:
                first = time.monotonic()
            pieces.append(chunk)
    return pieces, first


def _requested_model(replica: Replica, inbound_id: str) -> bool:
    """The replica's turn for ``inbound_id`` has its model's response under way."""
    for line in replica.log.read_bytes().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if (str(event.get("event", "")).startswith("HTTP Request: POST")
                and event.get("message_id") == inbound_id):
            return True
    return False


async def _holder(replicas: list[Replica], inbound_id: str) -> Replica:
    """The replica running ``inbound_id``'s turn (whichever took its lease: the one it was
    posted to, or under load another's sweep), waited for with a generous bound."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for replica in replicas:
            if _requested_model(replica, inbound_id):
                return replica
        await asyncio.sleep(0.05)
    raise AssertionError(f"no replica ran {inbound_id}")


async def test_a_post_to_a_streams_the_reply_b_produces(tmp_path: Path, pg_url: str) -> None:
    write_bot(tmp_path / "bots")
    reply = "Here is a reply in many streamed pieces: " + " ".join(f"w{i}" for i in range(60))
    llm = FakeLLM(reply=reply, ttft=1.5, itl=0.01)  # slow enough for B to hold the turn
    async with running_fake_llm(llm) as llm_url:
        cluster = Cluster(tmp_path, pg_url, 2, KITH_LLM__BASE_URLS=llm_url,
                          KITH_LLM__TIMEOUT="30")
        await cluster.start_all()
        try:
            a, b = cluster.replicas
            async with httpx.AsyncClient() as client:
                first = asyncio.create_task(_post(client, a, "first-message-1", "one"))
                # B: the replica holding the conversation (the first message's turn is under
                # way there); A: the other one, where the second message is posted
                b = await _holder(cluster.replicas, f"web:kith:{SESSION}:first-message-1")
                a = next(replica for replica in cluster.replicas if replica is not b)
                pieces, _ = await _post(client, a, "second-message-2", "two")
                await first
        finally:
            await cluster.stop_all()
    second = f"web:kith:{SESSION}:second-message-2"
    assert "".join(pieces) == reply, "A's response carried the whole reply"
    assert len(pieces) > 1, "streamed, not sent at the end"
    assert _ran_turn(b, second) and not _ran_turn(a, second), "the turn ran on B"
