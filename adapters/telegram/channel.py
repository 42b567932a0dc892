"""The Telegram channel: owns a ``telegram.Bot``; webhook or polling in, streamed replies out."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import json
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from adapters.base import ChannelContext, ChannelRefused
from adapters.kit import LIMITS, StreamEdit, retrying, split_text, while_leading
from adapters.kit.budget import share_budget
from adapters.telegram.config import TelegramConfig
from adapters.telegram.controls import NO, YES, callback_data, callback_id, to_decision
from adapters.telegram.decode import Policy, joined_unknown_group, message_id_of, to_inbound
from adapters.telegram.request import AiohttpRequest
from adapters.telegram.send import (
    Caller,
    Target,
    TelegramSurface,
    Undeliverable,
    retry_seconds,
    transient,
    typing,
)
from core.channel_state import Once, legacy_list
from core.commands import COMMANDS
from core.events import Attachment, Inbound, Outbound, Trust
from core.logging import get_logger, register_secrets
from core.media import Fetched, MediaTooLarge, MediaUnavailable
from core.reply import DeliveryError, Reply
from core.settings import ConfigError

log = get_logger("kith.telegram")
SECRET_HEADER = "x-telegram-bot-api-secret-token"
UPDATES = ["message", "edited_message", "channel_post", "my_chat_member", "callback_query"]
MAX_BODY = 1_000_000
TOLD_FILE = "unknown_groups_told.json"  # before channel state: read, never written
UNKNOWN_GROUP = ("Hi! I only take part in groups my owner has allowed, so I'll leave now. "
                 "(Owner: this group's id is {chat_id}.)")


class NotRecorded(Exception):
    """The update was read but could not be recorded (store down, shutting down)."""


class TelegramChannel:
    def __init__(self, ctx: ChannelContext, config: TelegramConfig,
                 bot: Bot | None = None) -> None:
        self.ctx = ctx
        self.config = config
        token = config.token.get_secret_value()
        register_secrets([token])
        self.bot = bot or Bot(
            token, base_url=config.api_base_url, base_file_url=config.file_url(),
            request=AiohttpRequest(connection_pool_size=128, read_timeout=15.0, pool_timeout=30.0),
            get_updates_request=HTTPXRequest(read_timeout=config.poll_timeout + 15.0),
        )
        self.caller = Caller(config.global_rate, config.max_attempts)
        secret = config.webhook_secret
        self._secret = secret.get_secret_value().encode() if secret else None
        self.policy: Policy | None = None
        self._poller: asyncio.Task[None] | None = None
        self._budget: asyncio.Task[None] | None = None
        self._told = Once(ctx.state, (f"unknown_group/{chat}" for chat in
                                      legacy_list(ctx.state_dir / TOLD_FILE)))
        self._failures = 0  # polled updates in a row that could not be recorded
        self.edits_sent = 0
        self.replies_sent = 0

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        await self._initialize()
        me = self.bot.bot
        cfg = self.config
        self.policy = Policy(
            bot=self.ctx.bot.name, bot_id=me.id, username=me.username or "",
            owners=frozenset(cfg.owners), allowed_users=frozenset(cfg.allowed_users),
            allowed_groups=frozenset(cfg.allowed_groups),
            context_groups=frozenset(cfg.group_context if isinstance(cfg.group_context, list)
                                     else ()),
            context_all=cfg.group_context is True, bare_commands=cfg.bare_commands,
        )
        # replicas split the bot's global rate: each paces itself at rate / live replicas
        self._budget = asyncio.create_task(share_budget(self.ctx.replicas, self._share))
        commands = [BotCommand(name, what[:256]) for name, what in COMMANDS.items()]
        await self.caller("*", lambda: self.bot.set_my_commands(commands))
        if cfg.mode == "webhook":
            await self.caller("*", lambda: self.bot.set_webhook(
                self._webhook_url(), secret_token=(self._secret or b"").decode(),
                allowed_updates=UPDATES))
        else:
            await self.caller("*", lambda: self.bot.delete_webhook())
            # One poller per bot across replicas: getUpdates from two would fight (409).
            self._poller = asyncio.create_task(
                while_leading(self.ctx.leadership, self.ctx.lead_name, self._poll),
                name="telegram-poll")
        log.info("telegram_ready", username=me.username, mode=cfg.mode)

    async def _initialize(self) -> None:
        def failed(err: BaseException, seconds: float) -> None:
            log.warning("telegram_getme_failed", error=str(err), retry_in=round(seconds, 2))

        try:
            await retrying(attempts=self.config.max_attempts, transient=transient,
                           on_retry=failed)(self.bot.initialize)
        except InvalidToken:
            raise ChannelRefused("telegram: the Bot API rejected the token") from None

    def _webhook_url(self) -> str:
        base = self.config.public_url or self.ctx.settings.gateway.public_url
        if not base:
            raise ConfigError(f"bot {self.ctx.bot.name}: channels.telegram: webhook mode needs "
                              "public_url (or KITH_GATEWAY__PUBLIC_URL)")
        return f"{base.rstrip('/')}/hooks/{self.ctx.bot.name}/telegram"

    def _share(self, replicas: int) -> None:
        self.caller.limiter.gap = replicas / self.config.global_rate
        log.info("telegram_rate_share", replicas=replicas,
                 per_second=round(self.config.global_rate / replicas, 2))

    async def stop_input(self) -> None:
        """Stop polling. An update taken but not yet recorded was never acknowledged (the
        offset moves past an update only once it is recorded): Telegram sends it again."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None

    async def stop(self) -> None:
        await self.stop_input()
        for task in (self._poller, self._budget):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._poller = self._budget = None
        with contextlib.suppress(TelegramError):
            await self.bot.shutdown()

    # -- inbound -------------------------------------------------------------------------

    async def handle_webhook(self, request: Request) -> Response:
        if request.method != "POST":
            return JSONResponse({"error": "POST only"}, status_code=405)
        given = request.headers.get(SECRET_HEADER, "").encode()
        if self._secret is None or not hmac.compare_digest(given, self._secret):
            return JSONResponse({"error": "forbidden"}, status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "too large"}, status_code=413)
        try:
            update = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return JSONResponse({"error": "not a Telegram update"}, status_code=400)
        try:
            await self.process(update)
        except NotRecorded:  # Telegram sends it again
            return JSONResponse({"error": "not recorded, try again"}, status_code=503)
        return JSONResponse({"ok": True})

    async def process(self, update: dict[str, Any]) -> bool:
        """Hand one update to the core; True when it was new and queued."""
        if self.policy is None:
            raise RuntimeError("telegram channel not started")
        query = callback_id(update)
        if query is not None:  # a button press: answered at once, decided by the core
            with contextlib.suppress(TelegramError):
                await self.bot.answer_callback_query(query)
            decision = to_decision(update, self.policy)
            if decision is None:
                return False
            try:
                return await self.ctx.submit(decision)
            except Exception as err:
                raise NotRecorded(decision.id) from err
        group = joined_unknown_group(update, self.policy)
        if group is not None:
            await self._unknown_group(group)
            return False
        inbound = to_inbound(update, self.policy)
        if inbound is None:
            return False
        try:
            return await self.ctx.submit(inbound)
        except Exception as err:
            raise NotRecorded(inbound.id) from err

    async def _unknown_group(self, chat_id: int) -> None:
        """Say once (ever) that the group is not allowed, then leave; or stay silent."""
        log.info("telegram_unknown_group", chat_id=chat_id, action=self.config.unknown_group)
        if self.config.unknown_group == "silent":
            return
        try:
            if await self._told.first(f"unknown_group/{chat_id}"):  # across replicas
                await self.caller(chat_id, lambda: self.bot.send_message(
                    chat_id, UNKNOWN_GROUP.format(chat_id=chat_id)))
            await self.caller(chat_id, lambda: self.bot.leave_chat(chat_id))
        except (TelegramError, Undeliverable) as err:
            log.warning("telegram_leave_failed", chat_id=chat_id, error=str(err))

    async def _poll(self) -> None:
        offset: int | None = None
        failures = 0
        while True:
            try:
                batch = await self.bot.get_updates(
                    offset=offset, timeout=self.config.poll_timeout, allowed_updates=UPDATES)
                failures = 0
            except RetryAfter as err:
                await asyncio.sleep(retry_seconds(err))
                continue
            except InvalidToken:
                log.error("telegram_token_rejected")
                return
            except (NetworkError, Conflict) as err:
                failures += 1
                log.warning("telegram_poll_failed", error=str(err))
                await asyncio.sleep(min(0.2 * 2 ** failures, 30.0))
                continue
            offset = await self._take(batch, offset)

    async def _take(self, batch: Sequence[Update], offset: int | None) -> int | None:
        """Record each update, then move the offset past it: the next getUpdates call
        acknowledges only recorded updates. One that could not be recorded stays
        unacknowledged and comes again after a pause; one that cannot be read is logged."""
        for update in batch:
            try:
                await self.process(update.to_dict())
            except NotRecorded as err:
                self._failures += 1
                log.warning("telegram_update_not_recorded", update_id=update.update_id,
                            error=type(err.__cause__).__name__)
                await asyncio.sleep(min(0.5 * 2 ** self._failures, 30.0))
                return offset
            except Exception:
                log.exception("telegram_update_failed", update_id=update.update_id)
            self._failures = 0
            offset = max(offset or 0, update.update_id + 1)
        return offset

    async def fetch_media(self, attachment: Attachment, limit: int) -> Fetched:
        """getFile, then the file endpoint; the size Telegram states is checked first."""
        if attachment.size is not None and attachment.size > limit:
            raise MediaTooLarge(attachment.size, limit)
        try:
            file = await self.caller("*", lambda: self.bot.get_file(attachment.ref))
            if file.file_size is not None and file.file_size > limit:
                raise MediaTooLarge(file.file_size, limit)
            data = bytes(await file.download_as_bytearray())
        except BadRequest as err:
            if "too big" in str(err).lower():  # over the Bot API's 20 MB download limit
                raise MediaTooLarge(attachment.size, limit) from None
            raise MediaUnavailable(f"telegram file: {err}") from None
        except (TelegramError, Undeliverable) as err:
            raise MediaUnavailable(f"telegram file: {err}") from None
        if len(data) > limit:
            raise MediaTooLarge(len(data), limit)
        return Fetched(data, attachment.mime_type)

    async def erase(self, inbound: Inbound) -> bool:
        """Delete the person's message (deleteMessage: a bot may delete incoming messages
        in a private chat for 48 hours); False when Telegram would not."""
        message_id = message_id_of(inbound)
        if message_id is None:
            return False
        chat_id = int(inbound.conversation.chat_id)
        try:
            return bool(await self.caller(
                chat_id, lambda: self.bot.delete_message(chat_id, message_id)))
        except (TelegramError, Undeliverable) as err:
            log.warning("telegram_not_erased", error=type(err).__name__)
            return False

    # -- outbound ------------------------------------------------------------------------

    def gap(self, group: bool) -> float:
        cfg = self.config
        return max(cfg.edit_interval, cfg.group_edit_interval) if group else cfg.edit_interval

    async def deliver(self, inbound: Inbound, reply: Reply) -> Outbound:
        """Stream the reply as one message edited in place (see ``adapters.kit.stream``)."""
        chat_id = int(inbound.conversation.chat_id)
        thread = inbound.conversation.thread
        gap = self.gap(inbound.is_group)
        target = Target(chat_id=chat_id, thread=int(thread) if thread else None,
                        reply_to=message_id_of(inbound) if inbound.is_group else None, gap=gap)
        stream = StreamEdit(TelegramSurface(self.bot, self.caller, target), reply,
                            limit=LIMITS["telegram"], interval=gap,
                            hold_first=min(gap, self.config.first_send_hold),
                            split=split_text)
        typer = None
        if inbound.wants_answer and inbound.trust is not Trust.UNKNOWN and not reply.shown:
            typer = asyncio.create_task(self._typing(stream, chat_id, target.thread))
        try:
            ids = await stream.run()
        except (TelegramError, Undeliverable) as err:
            log.warning("telegram_not_delivered", error=str(err), sent_messages=len(stream.ids))
            raise DeliveryError(str(err), permanent=isinstance(err, Forbidden)) from err
        finally:
            if typer is not None:
                typer.cancel()
            self.edits_sent += stream.edits
        self.replies_sent += 1 if ids else 0
        if ids:
            await self._offer_controls(inbound, chat_id, target.thread)
        return reply.outbound(ids)

    async def _offer_controls(self, inbound: Inbound, chat_id: int, thread: int | None) -> None:
        """Yes / No buttons under each action this message's turn proposed."""
        for action in await self.ctx.store.actions.made_by(inbound.id):
            markup = InlineKeyboardMarkup([[
                InlineKeyboardButton(YES, callback_data=callback_data(action.id, True)),
                InlineKeyboardButton(NO, callback_data=callback_data(action.id, False))]])
            send = functools.partial(self.bot.send_message, chat_id, f"Do this? {action.summary}",
                                     reply_markup=markup, message_thread_id=thread)
            try:
                await self.caller(chat_id, send)
            except (TelegramError, Undeliverable) as err:  # the person can still say yes
                log.warning("telegram_controls_not_sent", error=str(err))

    async def _typing(self, stream: StreamEdit, chat_id: int, thread: int | None) -> None:
        """'typing…' until the first message shows (best effort, outside the limiter)."""
        shown = asyncio.create_task(stream.first_sent.wait())
        indicator = asyncio.create_task(typing(self.bot, chat_id, thread))
        try:
            await shown
        finally:
            indicator.cancel()
            shown.cancel()


def build(ctx: ChannelContext, config: TelegramConfig) -> TelegramChannel:
    return TelegramChannel(ctx, config)
