"""Email drafting: forwarded mail in (SMTP and/or IMAP), a draft out to the owner only.

``accept(raw)`` verifies the sender (no LLM call and no reply for anything unverified),
keeps the raw mail in the channel's state dir (so a restart can still deliver) and submits
an :class:`Inbound`. ``deliver`` waits for the complete draft and mails it — together with a
ready-to-send ``reply.eml`` — to the owner address from the config, via aiosmtplib with
retries, and appends the reply to the IMAP Drafts folder when IMAP is configured. No address
from the mail or the model ever becomes a recipient.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import SMTP

import aiosmtplib

from adapters.base import ChannelContext
from adapters.email.addresses import header
from adapters.email.config import EmailConfig, OutboundConfig
from adapters.email.draft import clean_owner, delivery, forwarded_quote, notice
from adapters.email.imap_in import ImapWatcher
from adapters.email.media import extract, media_attachments, spool_name
from adapters.email.parse import ParsedMail
from adapters.email.reader import Reader, Unreadable, check, read
from adapters.email.smtp_in import SmtpListener
from adapters.email.verify import DnsFunc
from adapters.kit import attribution, retrying
from adapters.kit.links import plain_links
from core.events import (
    Addressed,
    Attachment,
    ChatKind,
    ConversationKey,
    Inbound,
    Outbound,
    ReplyStatus,
    Sender,
    Trust,
)
from core.ids import InboundId, PlatformMessageId
from core.logging import get_logger
from core.media import Fetched, MediaUnavailable
from core.reply import DeliveryError, Reply

log = get_logger("kith.email")


def mail_key(mail: ParsedMail, raw: bytes) -> str:
    """The Message-ID, or a digest of the bytes when the mail has none."""
    msgid = " ".join(mail.message_id.split())[:250]
    return msgid or "<sha256:" + hashlib.sha256(raw).hexdigest()[:32] + ">"


def to_inbound(bot: str, mail: ParsedMail, owner: str, key: str, limit: int) -> Inbound:
    """The Inbound for a verified owner's mail (pure): one conversation per forwarded mail."""
    thread = hashlib.sha256(key.encode()).hexdigest()[:16]
    # Fail closed: the note is theirs only up to the first line that may not be (a forward
    # header Kith does not know lets a fake marker further down decide where it ends).
    own, unsure = attribution.split(clean_owner(mail.note))
    return Inbound(
        id=InboundId(f"email:{bot}:{key}"),
        platform_message_id=PlatformMessageId(key),
        conversation=ConversationKey(bot, "email", owner.lower(), thread),
        sender=Sender(platform_id=owner.lower(),
                      display_name=mail.sender.name if mail.sender else ""),
        text=own,  # their own words; the forwarded mail is quoted
        quoted=(*unsure, forwarded_quote(mail.forwarded, limit)),
        addressed=Addressed.DIRECT,
        trust=Trust.OWNER,
        chat=ChatKind.DIRECT,
    )


def smtp_transient(exc: BaseException) -> bool:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return not 500 <= exc.code < 600
    return isinstance(exc, aiosmtplib.SMTPException | OSError)


class Outbox:
    """Sends to the configured relay over a few kept-open connections, with retries."""

    def __init__(self, config: OutboundConfig, local_hostname: str) -> None:
        self.config = config
        self.local_hostname = local_hostname
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots: asyncio.Semaphore | None = None

    def _new_client(self) -> aiosmtplib.SMTP:
        cfg = self.config
        return aiosmtplib.SMTP(
            hostname=cfg.host, port=cfg.port, username=cfg.username,
            password=cfg.password.get_secret_value() if cfg.password else None,
            use_tls=cfg.security == "tls", start_tls=cfg.security == "starttls",
            timeout=cfg.timeout, local_hostname=self.local_hostname,
        )

    async def _once(self, message: EmailMessage, sender: str, recipient: str) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.config.connections)
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            if client is not None and not client.is_connected:
                client = None
            if client is None:
                client = self._new_client()
                await client.connect()
            try:
                await client.send_message(message, sender=sender, recipients=[recipient])
            except BaseException:
                client.close()
                raise
            self._idle.append(client)

    async def send(self, message: EmailMessage, sender: str, recipient: str) -> None:
        """Send through the kit's retry policy: transient SMTP and network errors are
        retried (a stale kept-open connection at once), 5xx answers are not."""
        cfg = self.config

        def waiting(err: BaseException, seconds: float) -> None:
            log.warning("smtp_send_retry", error=type(err).__name__, retry_in=round(seconds, 2))

        await retrying(attempts=cfg.attempts, transient=smtp_transient, on_retry=waiting,
                       backoff=cfg.backoff * 2, backoff_max=cfg.backoff * 2 ** cfg.attempts)(
            self._once, message, sender, recipient)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                await asyncio.wait_for(client.quit(), 2)
            except Exception:
                client.close()


class EmailChannel:
    def __init__(self, ctx: ChannelContext, config: EmailConfig, *,
                 dnsfunc: DnsFunc | None = None) -> None:
        self.ctx = ctx
        self.config = config
        self.dnsfunc = dnsfunc  # DKIM key lookup; None: DNS (tests pass their own keys)
        self.owners = {o.lower(): o for o in config.owners}
        self.outbox = Outbox(config.outbound, config.address.rsplit("@", 1)[1])
        self.listener = SmtpListener(config.listen, config.address, self.accept) \
            if config.listen else None
        self.watcher = ImapWatcher(config.imap, self.accept, leadership=ctx.leadership,
                                   name=ctx.lead_name) if config.imap else None
        self.state = ctx.state  # spooled mail: any replica may deliver the reply
        self.spool = ctx.state_dir / "spool"  # where it lies in one process (FileState)
        self.rejected = 0
        self._noticed: set[str] = set()
        self._warming: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._warming = asyncio.create_task(Reader.warm())  # awaited by the first mail
        if self.listener is not None:
            await self.listener.start()
        if self.watcher is not None:
            await self.watcher.start()

    async def stop_input(self) -> None:
        """Stop listening and watching; drafts can still be sent until ``stop``."""
        if self.listener is not None:
            await self.listener.stop()
        if self.watcher is not None:
            await self.watcher.stop()

    async def stop(self) -> None:
        await self.stop_input()
        if self._warming is not None and not self._warming.done():
            self._warming.cancel()
        Reader.close()  # the workers end with the channel
        await self.outbox.close()

    # -- in ----------------------------------------------------------------------------

    async def accept(self, raw: bytes) -> bool:
        """Verify, spool and submit one mail. False: refused (logged, never answered)."""
        cfg = self.config
        try:
            verdict = await Reader.run(cfg.verify_seconds, check, raw, cfg.owners,
                                       cfg.trusted_authserv_ids, self.dnsfunc)
        except Unreadable as err:  # not even verified: nobody to tell
            self.rejected += 1
            log.warning("email_refused", reason="unreadable", detail=str(err), bytes=len(raw))
            return False
        if verdict.owner is None:
            self.rejected += 1
            log.warning("email_refused", reason=verdict.reason, bytes=len(raw))
            return False
        try:  # the owner's: from here on, whatever goes wrong, they are told
            mail: ParsedMail | str = await Reader.run(cfg.parse_seconds, read, raw,
                                                      cfg.max_parts)
        except Unreadable as err:
            mail = str(err)
        if isinstance(mail, str):
            await self._notify(raw, verdict.owner, mail)
            return True
        key = mail_key(mail, raw)
        inbound = to_inbound(self.ctx.bot.name, mail, verdict.owner, key,
                             self.config.max_body_chars)
        stem = _spool_stem(inbound.id)
        files = await asyncio.to_thread(media_attachments, raw, stem, mail.style != "plain")
        inbound = replace(inbound, attachments=files)
        # if it is spooled already, the same mail is still waiting for delivery
        wrote = await self.state.add(_spool_key(stem), raw)
        if not await self.ctx.submit(inbound):
            log.info("email_duplicate", message_id=inbound.id)
            if wrote:
                await self.state.delete(_spool_key(stem))
        return True

    async def _notify(self, raw: bytes, owner: str, reason: str) -> None:
        """Tell the verified owner their mail was not read; once per Message-ID."""
        headers = await asyncio.to_thread(_headers, raw)
        key = headers.get("message-id") or hashlib.sha256(raw).hexdigest()
        log.warning("email_unreadable", reason=reason, bytes=len(raw))
        if key in self._noticed:
            return
        self._noticed.add(key)
        message = notice(self.owners[owner.lower()], self.config.address,
                         headers.get("subject", ""), reason)
        await self.outbox.send(message, self.config.address, self.owners[owner.lower()])

    async def fetch_media(self, attachment: Attachment, limit: int) -> Fetched:
        """An attachment of the spooled mail (kept until its reply is delivered)."""
        raw = await self.state.get(_spool_key(spool_name(attachment)))
        if raw is None:
            raise MediaUnavailable("the mail is no longer spooled")
        return await asyncio.to_thread(extract, raw, attachment, limit)

    # -- out ---------------------------------------------------------------------------

    async def deliver(self, inbound: Inbound, reply: Reply) -> Outbound:
        text = plain_links(await reply.drain())  # mail: links as plain URLs
        owner = self.owners.get(inbound.sender.platform_id.lower())
        if owner is None or inbound.conversation.chat_id != owner.lower():
            log.error("email_no_owner_for_reply")  # never send anywhere but an owner
            raise DeliveryError("no owner address for this reply", permanent=True)
        if reply.status is ReplyStatus.REFUSED or not text.strip():
            return reply.outbound()
        key = _spool_key(_spool_stem(inbound.id))
        raw = await self.state.get(key) or b""
        try:
            mail = await Reader.run(self.config.parse_seconds, read, raw, self.config.max_parts)
        except Unreadable as err:
            mail = str(err)
        if isinstance(mail, str):  # it was read once already: not expected here
            log.error("email_unreadable_on_delivery", reason=mail)
            raise DeliveryError("email: unreadable on delivery", permanent=True)
        ok = reply.status is ReplyStatus.OK
        # Where the note ended was uncertain: so is whose From the forward's is. No reply.eml.
        certain = not attribution.own_words(clean_owner(mail.note))[1]
        message, eml = delivery(mail, owner, self.config.address, text, ok, ready=certain)
        try:
            await self.outbox.send(message, self.config.address, owner)
        except (aiosmtplib.SMTPException, OSError) as err:
            log.warning("email_draft_not_sent", error=type(err).__name__)
            raise DeliveryError(f"smtp: {type(err).__name__}",
                                permanent=not smtp_transient(err)) from err
        log.info("email_draft_sent", ok=ok, ready_to_send=eml is not None)
        if eml is not None and self.watcher is not None:
            try:
                await self.watcher.append_draft(eml.as_bytes(policy=SMTP))
            except Exception as err:
                log.warning("imap_draft_append_failed", error=type(err).__name__)
        await self.state.delete(key)
        return reply.outbound((PlatformMessageId(str(message["Message-ID"] or "")),))


def _headers(raw: bytes) -> dict[str, str]:
    head = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[:256_000])
    return {name: header(head, name)[:300] for name in ("message-id", "subject")}


def _spool_stem(inbound_id: str) -> str:
    return hashlib.sha256(inbound_id.encode()).hexdigest()[:32]


def _spool_key(stem: str) -> str:
    """Where a mail waits for its reply: ``spool/<stem>.eml`` (in the state dir on SQLite)."""
    return f"spool/{stem}.eml"


def build(ctx: ChannelContext, config: EmailConfig) -> EmailChannel:
    return EmailChannel(ctx, config)
