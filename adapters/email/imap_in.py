"""A mailbox watched over IMAP (aioimaplib): IDLE when the server offers it, else polling.

Every message not yet flagged ``$KithHandled`` is fetched (without setting \\Seen), handed to
``on_mail(raw_bytes)`` and, once that returned (the mail is recorded, or was refused), flagged
``\\Seen $KithHandled``. Connection trouble reconnects with backoff; the watcher never dies
of a server hiccup. :meth:`append_draft` puts a ready-to-send reply into the Drafts folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable

import aioimaplib

from adapters.email.config import ImapConfig
from adapters.kit.leading import while_leading
from core.coordination import Leadership, LocalLeadership
from core.logging import get_logger

log = get_logger("kith.email.imap")
OnMail = Callable[[bytes], Awaitable[object]]
HANDLED = "$KithHandled"
BATCH = 50


def _quote(mailbox: str) -> str:
    escaped = mailbox.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


class ImapError(RuntimeError):
    pass


def _check(response: aioimaplib.Response, what: str) -> aioimaplib.Response:
    if response.result != "OK":
        raise ImapError(f"IMAP {what} failed: {response.result}")
    return response


class ImapWatcher:
    """Watches while this process leads ``name`` (one watcher per mailbox across replicas:
    two would fetch the same unhandled mail)."""

    def __init__(self, config: ImapConfig, on_mail: OnMail, *,
                 leadership: Leadership | None = None, name: str = "imap") -> None:
        self.config = config
        self.on_mail = on_mail
        self.leadership: Leadership = leadership or LocalLeadership()
        self.name = name
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()  # set while a session is selected and watching
        self.handled = 0

    async def _connect(self) -> aioimaplib.IMAP4:
        cfg = self.config
        client: aioimaplib.IMAP4
        if cfg.ssl:
            client = aioimaplib.IMAP4_SSL(cfg.host, cfg.port, timeout=30,
                                          ssl_context=ssl.create_default_context())
        else:
            client = aioimaplib.IMAP4(cfg.host, cfg.port, timeout=30)
        await client.wait_hello_from_server()
        _check(await client.login(cfg.username, cfg.password.get_secret_value()), "LOGIN")
        return client

    async def start(self) -> None:
        self._task = asyncio.create_task(while_leading(self.leadership, self.name, self._run),
                                         name="imap-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = 1.0
        while True:
            client: aioimaplib.IMAP4 | None = None
            try:
                client = await self._connect()
                _check(await client.select(_quote(self.config.mailbox)), "SELECT")
                delay = 1.0
                await self._watch(client)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("imap_reconnect", error=type(err).__name__, retry_in=delay)
            finally:
                self.connected.clear()
                if client is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(client.logout(), 2)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)

    async def _watch(self, client: aioimaplib.IMAP4) -> None:
        use_idle = self.config.idle and client.has_capability("IDLE")
        while True:
            while await self._sweep(client):
                pass
            self.connected.set()
            if use_idle:
                await self._idle(client)
            else:
                await asyncio.sleep(self.config.poll_seconds)
                _check(await client.noop(), "NOOP")

    async def _idle(self, client: aioimaplib.IMAP4) -> None:
        idle = await client.idle_start(timeout=self.config.idle_seconds)
        try:
            await client.wait_server_push(timeout=self.config.idle_seconds)
        except TimeoutError:
            pass
        finally:
            client.idle_done()
        _check(await asyncio.wait_for(idle, 30), "IDLE")

    async def _sweep(self, client: aioimaplib.IMAP4) -> bool:
        """Handle up to BATCH unhandled messages; True if there may be more."""
        found = _check(await client.uid_search("UNKEYWORD", HANDLED, charset=None), "SEARCH")
        uids = [u for line in found.lines[:1] for u in line.decode().split() if u.isdigit()]
        for uid in uids[:BATCH]:
            raw = await self._fetch(client, uid)
            if raw is not None:
                await self.on_mail(raw)
            _check(await client.uid("store", uid, "+FLAGS.SILENT", f"(\\Seen {HANDLED})"),
                   "STORE")
            self.handled += 1
        return len(uids) > BATCH

    async def _fetch(self, client: aioimaplib.IMAP4, uid: str) -> bytes | None:
        response = _check(await client.uid("fetch", uid, "(BODY.PEEK[])"), "FETCH")
        for line in response.lines:
            if isinstance(line, bytearray):
                return bytes(line)
        return None

    async def append_draft(self, message: bytes) -> None:
        """Append to the Drafts folder over a short session of its own."""
        if not self.config.drafts:
            return
        client = await self._connect()
        try:
            _check(await client.append(message, mailbox=_quote(self.config.drafts),
                                       flags="(\\Draft \\Seen)"), "APPEND")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.logout(), 5)
