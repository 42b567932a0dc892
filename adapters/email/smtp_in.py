"""The built-in SMTP listener (aiosmtpd), for an address pointed at Kith.

It runs on an event loop of its own, in a thread: aiosmtpd reads a message's lines without
yielding while its buffer holds data, which on the main loop froze every channel for
seconds per large mail. Each message hops to the main loop for ``on_mail``. Message size
is limited by the protocol (552 on overflow); AUTH is offered only over STARTTLS; RCPT is
accepted only for Kith's own address. Each message is handed to ``on_mail(raw_bytes)``;
the answer is 250 once it was handled
(recorded or refused — a refused sender learns nothing), 451 if Kith could not record it.
"""

from __future__ import annotations

import asyncio
import hmac
import ssl
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from adapters.email.config import ListenConfig
from core.logging import get_logger

log = get_logger("kith.email.smtp")
OnMail = Callable[[bytes], Coroutine[Any, Any, object]]


class _Handler:
    def __init__(self, address: str, on_mail: OnMail) -> None:
        self.address = address.lower()
        self.on_mail = on_mail
        self.main: asyncio.AbstractEventLoop | None = None  # where on_mail runs

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.strip().lower() != self.address:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            return "554 5.6.0 Message could not be read"
        try:
            assert self.main is not None
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.on_mail(raw),
                                                                       self.main))
        except Exception:
            log.exception("smtp_mail_failed")
            return "451 4.3.0 Temporary failure, try again later"
        return "250 OK"


def _authenticator(config: ListenConfig) -> Callable[..., AuthResult] | None:
    if not config.auth_user or config.auth_password is None:
        return None
    user = config.auth_user.encode()
    password = config.auth_password.get_secret_value().encode()

    def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
              data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            ok = hmac.compare_digest(data.login, user) & hmac.compare_digest(data.password,
                                                                                password)
            return AuthResult(success=bool(ok), handled=False)
        return AuthResult(success=False, handled=False)

    return check


def _tls(config: ListenConfig) -> ssl.SSLContext | None:
    if not config.tls_cert or not config.tls_key:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.tls_cert, config.tls_key)
    return context


class SmtpListener:
    def __init__(self, config: ListenConfig, address: str, on_mail: OnMail) -> None:
        self.config = config
        self.handler = _Handler(address, on_mail)
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.port = config.port
        self._auth = _authenticator(config)
        self._tls = _tls(config)

    def _protocol(self) -> SMTP:
        authenticator, tls = self._auth, self._tls
        return SMTP(
            self.handler,
            data_size_limit=self.config.max_message_bytes,
            enable_SMTPUTF8=True,
            hostname="kith",
            ident="Kith ESMTP",
            tls_context=tls,
            require_starttls=self.config.require_starttls and tls is not None,
            authenticator=authenticator,
            auth_required=authenticator is not None,
            auth_require_tls=True,
            timeout=60,
        )

    async def start(self) -> None:
        self.handler.main = asyncio.get_running_loop()
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="kith-smtp", daemon=True)
        self._thread.start()
        self._loop = loop
        try:
            await self._on_smtp_loop(self._serve())
        except BaseException:
            await self._end_loop()
            raise
        log.info("smtp_listening", host=self.config.host, port=self.port)

    async def _on_smtp_loop(self, work: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self._loop))

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.config.host,
                                                self.config.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _end_loop(self) -> None:
        loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, 10)
        if not thread.is_alive():
            loop.close()

    async def stop(self) -> None:
        if self._loop is not None:
            await self._on_smtp_loop(self._close())
        await self._end_loop()
