"""The Bot API's HTTP on aiohttp: python-telegram-bot's networking backend, swapped.

PTB's default backend (``HTTPXRequest``) runs on httpcore, whose pool walks every
connection for each one on every request it starts or ends (``len([... for connection in
connections])`` inside the loop over them): with the 128 connections Kith keeps for many
chats streaming at once, that and the rest of httpx took a third of Kith's CPU in a
Telegram burst (py-spy, ``bench.telegram --burst-only``). PTB makes the backend
replaceable (:class:`telegram.request.BaseRequest`, "implement your own networking
backend"); this one gives the same answers and errors over aiohttp's pool (the one the
model client uses too): a timeout is :class:`~telegram.error.TimedOut`, any other
failure to talk to the server :class:`~telegram.error.NetworkError`.
"""

from __future__ import annotations

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """``HTTPXRequest``'s settings that Kith uses, over an aiohttp session."""

    __slots__ = ("_connect", "_pool", "_pool_size", "_read", "_session")

    def __init__(self, connection_pool_size: int = 256, read_timeout: float | None = 5.0,
                 connect_timeout: float | None = 5.0, pool_timeout: float | None = 1.0) -> None:
        self._pool_size = connection_pool_size
        self._read = read_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size))

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        read = self._read if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool if isinstance(pool_timeout, DefaultValue) else pool_timeout
        # aiohttp's connect timeout covers the wait for a free connection and the connecting
        waits = None if connect is None or pool is None else connect + pool
        timeout = aiohttp.ClientTimeout(total=None, connect=waits, sock_connect=connect,
                                        sock_read=read)
        body: aiohttp.FormData | dict[str, str] | None = None
        if request_data is not None:
            files = request_data.multipart_data
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mime) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mime)
                body = form
            else:
                body = request_data.json_parameters  # form-encoded, as HTTPXRequest sends it
        try:
            async with self._session.request(method, url, data=body, timeout=timeout,
                                             headers={"User-Agent": self.USER_AGENT}) as res:
                return res.status, await res.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err
