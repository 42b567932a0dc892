"""The Matrix channel: owns an ``nio.AsyncClient`` with a persistent device and key store,
signs it in, leads the bot's sync among replicas and shows replies.

The sync loop hands each batch to :class:`~adapters.matrix.intake.Intake`, which submits
the messages (durably recorded by the core); only then is the sync token saved, so a
restart neither replays nor loses messages.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    RoomRedactResponse,
    SyncResponse,
    WhoamiResponse,
)

from adapters.base import ChannelContext, ChannelRefused
from adapters.kit import LIMITS, StreamEdit, split_text, while_leading
from adapters.matrix.config import MatrixConfig
from adapters.matrix.controls import control, remembered, state_key
from adapters.matrix.devices import exchange_keys
from adapters.matrix.handoff import Handoff
from adapters.matrix.intake import Intake
from adapters.matrix.media import fetch
from adapters.matrix.outbox import MatrixSurface, Outbox, SendError
from adapters.matrix.render import message_content, with_relation
from core.coordination import LocalLeadership
from core.events import Attachment, Inbound, Outbound
from core.ids import PlatformMessageId
from core.logging import get_logger, register_secrets
from core.media import Fetched, MediaTooLarge, MediaUnavailable
from core.reply import DeliveryError, Reply

log = get_logger("kith.matrix")
TYPING_AFTER = 0.3  # seconds without a first piece of reply before "typing…" is shown
SYNC_FILTER = {"room": {"timeline": {"limit": 100}}}
OPEN_TRIES = 2  # network tries per request while logging in; then start fails and is retried
REFUSED = {"M_FORBIDDEN", "M_UNKNOWN_TOKEN", "M_USER_DEACTIVATED", "M_INVALID_USERNAME"}


class MatrixChannel:
    def __init__(self, ctx: ChannelContext, config: MatrixConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.store_dir = ctx.state_dir / "nio"
        self.store_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # device keys
        self.store_dir.chmod(0o700)
        # Replicas: the device's session, token and keys pass from leader to leader.
        self._replicated = not isinstance(ctx.leadership, LocalLeadership)
        self.handoff = Handoff(ctx.state, self.store_dir, self._replicated)
        self.leading = False
        self.client = self._new_client()
        self.outbox = Outbox(self.client, self._prepare_room, config.max_retry_wait)
        self.intake = Intake(ctx, config, self.client, self.outbox)
        self._token: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._keys_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0  # sync batches fully processed (tests and the benchmark wait on it)
        self._batch_done = asyncio.Condition()

    # -- lifecycle -----------------------------------------------------------------------

    def _new_client(self) -> AsyncClient:
        return AsyncClient(
            self.config.homeserver, self.config.user_id, store_path=str(self.store_dir),
            config=AsyncClientConfig(store_sync_tokens=False, encryption_enabled=True,
                                     max_limit_exceeded=0, max_timeouts=None),
        )

    async def start(self) -> None:
        if not self._replicated:  # one process: a bad login fails the start
            patient = self.client.config  # nio retries an unreachable server for ever
            self.client.config = replace(patient, max_timeouts=OPEN_TRIES)
            try:
                await self._open()
            finally:
                self.client.config = patient
        # Sync has one consumer per bot across replicas: the leader of "matrix/<bot>".
        self._task = asyncio.create_task(
            while_leading(self.ctx.leadership, self.ctx.lead_name, self._lead),
            name=f"matrix:{self.ctx.bot.name}")

    async def _open(self) -> None:
        if self._replicated:  # a fresh client on the key store the last leader left
            await self.client.close()
            self.client = self.outbox.client = self.intake.client = self._new_client()
        await self._login()
        for path in self.store_dir.iterdir():  # the key store nio just opened: 0644 by umask
            if path.is_file():
                path.chmod(0o600)
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        self._token = await self.handoff.token()
        name = await self.client.get_displayname(self.config.user_id)
        self.intake.display_name = getattr(name, "displayname", None) or ""

    async def _lead(self) -> None:
        if self._replicated:
            await self._open()
        self.leading = True
        try:
            await self._run()
        finally:
            self.leading = False
            if self._replicated:
                await self.client.close()

    def delivers_here(self) -> bool:
        """Replicas: only the leader runs this channel's conversations (see _must_lead)."""
        return not self._replicated or self.leading

    def _must_lead(self) -> None:
        """Replicas: only the leader has the device's keys (and knows which rooms are
        encrypted), so only it sends; elsewhere a delivery waits to be retried."""
        if self._replicated and not self.leading:
            raise DeliveryError("matrix: this replica does not lead matrix/"
                                + self.ctx.bot.name, permanent=False)

    async def stop_input(self) -> None:
        """Stop syncing (the token is saved only after a batch is recorded)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def stop(self) -> None:
        await self.stop_input()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.close()

    async def _restore(self, user_id: str, device_id: str, token: str) -> None:
        await self.handoff.restore_keys(user_id, device_id)
        self.client.restore_login(user_id, device_id, token)

    async def _login(self) -> None:
        saved = await self.handoff.session()
        if saved.get("user_id") == self.config.user_id and saved.get("access_token"):
            register_secrets([saved["access_token"]])
            await self._restore(saved["user_id"], saved["device_id"], saved["access_token"])
            log.info("matrix_session_restored", device_id=saved["device_id"])
            return
        if self.config.password is not None:
            resp = await self.client.login(self.config.password.get_secret_value(),
                                           device_name=self.config.device_name)
            if not isinstance(resp, LoginResponse):
                _refused(resp, "matrix: the homeserver refused the password login")
                raise RuntimeError(f"matrix login failed: {resp}")
            device_id, token = resp.device_id, resp.access_token
        else:
            assert self.config.access_token is not None
            token = self.config.access_token.get_secret_value()
            self.client.access_token = token
            whoami = await self.client.whoami()
            if not isinstance(whoami, WhoamiResponse):
                _refused(whoami, "matrix: the homeserver rejected the access token")
                raise RuntimeError(f"matrix whoami failed: {whoami}")
            if not whoami.device_id:
                raise ChannelRefused("matrix: the access token has no device")
            device_id = whoami.device_id
        register_secrets([token])
        await self.handoff.save_session(self.config.user_id, device_id, token)
        await self._restore(self.config.user_id, device_id, token)
        log.info("matrix_logged_in", device_id=device_id)

    # -- sync ----------------------------------------------------------------------------

    async def _run(self) -> None:
        first, backoff = True, 1.0
        while True:
            try:
                resp = await self.client.sync(
                    timeout=0 if first else self.config.sync_timeout_ms, since=self._token,
                    full_state=first, sync_filter=SYNC_FILTER)
                if isinstance(resp, SyncResponse):
                    await self._batch(resp)
                    first, backoff = False, 1.0
                    continue
                log.warning("matrix_sync_failed", error=str(resp))
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad batch must not end the channel; it is retried
                log.exception("matrix_sync_crashed")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 60.0)

    async def _batch(self, resp: SyncResponse) -> None:
        await self._keys()
        await self.intake.invites(resp)
        if self._token is not None:  # the very first sync of a device is history only
            await self.intake.messages(resp)
        # keys before the token: a successor that re-syncs this batch has them
        await self.handoff.save_keys(self.config.user_id, self.client.device_id)
        self._token = resp.next_batch
        await self.handoff.save_token(self._token)
        async with self._batch_done:
            self.batches += 1
            self._batch_done.notify_all()

    async def wait_batches(self, count: int) -> None:
        async with self._batch_done:
            await self._batch_done.wait_for(lambda: self.batches >= count)

    async def _keys(self) -> None:
        await exchange_keys(self.client, self.config, self._keys_lock)

    async def _prepare_room(self, room_id: str) -> None:
        room = self.client.rooms.get(room_id)
        if room is not None and room.encrypted:
            await self._keys()

    # -- replies -------------------------------------------------------------------------

    async def deliver(self, inbound: Inbound, reply: Reply) -> Outbound:
        self._must_lead()
        room_id = inbound.conversation.chat_id
        event_id = inbound.platform_message_id
        thread = inbound.conversation.thread
        # Receipt and typing run beside the reply, never in its way. Typing is shown only
        # if the model is slower than TYPING_AFTER (a fast reply needs no indicator).
        typing: list[bool] = []
        presence = asyncio.create_task(self._presence(
            room_id, event_id, thread, typing if inbound.wants_answer else None))
        surface = MatrixSurface(self.outbox, room_id,
                                reply_to=event_id if inbound.is_group or thread else None,
                                thread=thread)
        interval = self.config.edit_interval
        stream = StreamEdit(surface, reply, limit=LIMITS["matrix"], interval=interval,
                            hold_first=interval, split=split_text)
        try:
            ids = await stream.run()
        except SendError as err:
            raise DeliveryError(str(err)) from err
        finally:
            presence.cancel()
            if typing:
                self._background(self.client.room_typing(room_id, False))
        if ids:
            await self._offer_controls(inbound, room_id, thread)
        return reply.outbound(ids)

    async def _offer_controls(self, inbound: Inbound, room_id: str, thread: str | None) -> None:
        """A notice under each action this message's turn proposed (react or reply)."""
        for action in await self.ctx.store.actions.made_by(inbound.id):
            try:
                sent = await self.outbox.send(room_id, control(action.summary, thread))
            except SendError as err:  # a bare "yes" still answers it
                log.warning("matrix_controls_not_sent", error=str(err))
                continue
            await self.ctx.state.put(state_key(sent), remembered(action.id, thread))

    async def _presence(self, room_id: str, event_id: PlatformMessageId | None,
                        thread: str | None, typing: list[bool] | None) -> None:
        if event_id is not None:  # a turn Kith starts itself has no event to mark read
            with contextlib.suppress(Exception):
                await self.client.update_receipt_marker(room_id, event_id,
                                                        thread_id=thread or "main")
        if typing is None:
            return
        await asyncio.sleep(TYPING_AFTER)
        while True:
            typing.append(True)
            with contextlib.suppress(Exception):
                await self.client.room_typing(room_id, True, timeout=30_000)
            await asyncio.sleep(20)

    def _background(self, work: Coroutine[Any, Any, Any]) -> None:
        async def quietly() -> None:
            with contextlib.suppress(Exception):
                await work
        task = asyncio.create_task(quietly())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def fetch_media(self, attachment: Attachment, limit: int) -> Fetched:
        if attachment.size is not None and attachment.size > limit:
            raise MediaTooLarge(attachment.size, limit)
        if self._replicated and not self.leading:
            raise MediaUnavailable("matrix: this replica does not lead the channel")
        return await fetch(self.client, attachment, limit)

    async def erase(self, inbound: Inbound) -> bool:
        """Redact the person's message (it held a password); False when the homeserver
        refuses (in a room where Kith lacks the power to redact others' events)."""
        if self._replicated and not self.leading:
            return False
        event_id = inbound.platform_message_id
        if event_id is None:  # not a message of theirs (a turn Kith started itself)
            return False
        resp = await self.client.room_redact(inbound.conversation.chat_id, event_id,
                                             reason="it held a password")
        if isinstance(resp, RoomRedactResponse):
            return True
        log.warning("matrix_not_redacted", error=getattr(resp, "status_code", None))
        return False

    async def send_text(self, room_id: str, text: str,
                        thread: str | None = None) -> PlatformMessageId:
        """A one-off message (used by owners' tools and the benchmark)."""
        self._must_lead()
        return await self.outbox.send(room_id, with_relation(message_content(text),
                                                             reply_to=None, thread=thread))


def _refused(resp: object, what: str) -> None:
    """Raise :class:`ChannelRefused` when ``resp`` says the credentials are wrong."""
    code = getattr(resp, "status_code", None)
    if code in REFUSED:
        raise ChannelRefused(f"{what} ({code})")
