"""The human side of the Matrix tests: a second nio client with its own store, syncing in the
background and recording every timeline event it sees (decrypted when it can)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    ReceiptEvent,
    RoomCreateResponse,
    RoomPreset,
    SyncResponse,
    TypingNoticeEvent,
)

ENCRYPTION = {"type": "m.room.encryption", "state_key": "",
              "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


@dataclass
class Seen:
    room_id: str
    source: dict[str, Any]
    decrypted: bool

    @property
    def content(self) -> dict[str, Any]:
        content = self.source.get("content")
        return content if isinstance(content, dict) else {}


class Human:
    def __init__(self, url: str, user_id: str, password: str, store: Path) -> None:
        store.mkdir(parents=True, exist_ok=True)
        self.user_id = user_id
        self.password = password
        self.client = AsyncClient(url, user_id, store_path=str(store),
                                  config=AsyncClientConfig(store_sync_tokens=True,
                                                           encryption_enabled=True))
        self.seen: list[Seen] = []
        self.typing: set[tuple[str, str]] = set()  # (room, user) ever seen typing
        self.read: set[tuple[str, str, str]] = set()  # (room, user, event) read receipts
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._first = True

    async def start(self, sync: bool = True) -> Human:
        resp = await self.client.login(self.password, device_name="test-human")
        assert isinstance(resp, LoginResponse), resp
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        if sync:
            self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.close()

    async def _run(self) -> None:
        while True:
            resp = await self.client.sync(timeout=5_000, full_state=self._first)
            self._first = False
            if not isinstance(resp, SyncResponse):
                await asyncio.sleep(0.2)
                continue
            if self.client.should_query_keys:
                await self.client.keys_query()
            if self.client.should_claim_keys:
                await self.client.keys_claim(self.client.get_users_for_key_claiming())
            await self.client.send_to_device_messages()
            for device in self.client.device_store:
                if not device.verified:
                    self.client.verify_device(device)
            async with self._changed:
                for room_id, info in resp.rooms.join.items():
                    for event in info.timeline.events:
                        self.seen.append(Seen(room_id, event.source,
                                              bool(getattr(event, "decrypted", False))))
                    for ephemeral in info.ephemeral:
                        self._ephemeral(room_id, ephemeral)
                self._changed.notify_all()

    def _ephemeral(self, room_id: str, event: Any) -> None:
        if isinstance(event, TypingNoticeEvent):
            self.typing.update((room_id, user) for user in event.users)
        elif isinstance(event, ReceiptEvent):
            self.read.update((room_id, r.user_id, r.event_id) for r in event.receipts)

    async def wait_for(self, predicate: Callable[[], Any], limit: float = 30.0) -> Any:
        async def wait() -> Any:
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result
        return await asyncio.wait_for(wait(), limit)

    async def create_room(self, invite: list[str], *, encrypted: bool = False,
                          direct: bool = False, preset: RoomPreset | None = None) -> str:
        """``preset``: trusted_private_chat (as Element makes a DM) gives the invited the
        creator's power; none is Synapse's private_chat, where they may not redact."""
        resp = await self.client.room_create(
            invite=invite, is_direct=direct, initial_state=[ENCRYPTION] if encrypted else [],
            preset=preset)
        assert isinstance(resp, RoomCreateResponse), resp
        await self.wait_for(lambda: resp.room_id in self.client.rooms)
        return str(resp.room_id)

    async def wait_joined(self, room_id: str, user_id: str, limit: float = 30.0) -> None:
        def joined() -> bool:
            return any(s.room_id == room_id and s.source.get("type") == "m.room.member"
                       and s.source.get("state_key") == user_id
                       and s.content.get("membership") == "join" for s in self.seen)
        await self.wait_for(joined, limit)

    async def say(self, room_id: str, body: str, **extra: Any) -> str:
        content = {"msgtype": "m.text", "body": body, **extra}
        resp = await self.client.room_send(room_id, "m.room.message", content,
                                           ignore_unverified_devices=True)
        event_id = getattr(resp, "event_id", None)
        assert event_id, resp
        return str(event_id)

    def from_user(self, room_id: str, sender: str) -> list[Seen]:
        return [s for s in self.seen if s.room_id == room_id and s.source.get("sender") == sender
                and s.source.get("type") == "m.room.message"]

    def shown(self, room_id: str, sender: str) -> dict[str, str]:
        """What a client displays: original event id → latest text (edits applied)."""
        texts: dict[str, str] = {}
        for seen in self.from_user(room_id, sender):
            rel = seen.content.get("m.relates_to") or {}
            new = seen.content.get("m.new_content")
            if rel.get("rel_type") == "m.replace" and isinstance(new, dict):
                texts[rel["event_id"]] = new.get("body", "")
            else:
                texts.setdefault(str(seen.source["event_id"]), seen.content.get("body", ""))
        return texts
