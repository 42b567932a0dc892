"""Shared fixtures: the no-network guard, a fake LLM on loopback, settings in a temp dir."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.fakes.llm import FakeLLM, running_fake_llm, strict_fake_llm
from tests.fakes.speech import FakeSpeech, running_fake_speech

pytest_plugins = ["tests.pg"]  # pg_server / pg_url: a real PostgreSQL on a socket

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests (``@pytest.mark.first``) go first: on two workers the rest run beside
    them instead of after them."""
    items.sort(key=lambda item: item.get_closest_marker("first") is None)


def _is_local(address: Any) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NetworkBlocked(OSError):
    pass


def _guard(address: Any) -> None:
    if not _is_local(address):
        raise NetworkBlocked(f"test tried to reach {address!r}: only loopback is allowed")


def _connect(self: socket.socket, address: Any) -> None:
    _guard(address)
    _real_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    _guard(address)
    return _real_connect_ex(self, address)


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host not in (None, "localhost") and not _is_local((host if isinstance(host, str)
                                                            else host.decode(), 0)):
        raise NetworkBlocked(f"test tried to resolve {host!r}: only loopback is allowed")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def no_network() -> Iterator[None]:
    """Any connection to a non-loopback address fails the test."""
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _getaddrinfo
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _real_getaddrinfo


def echo_message(request: dict[str, Any]) -> str:
    """'You said: <the person's message>' — without the volatile context block Kith adds."""
    content = str(request["messages"][-1]["content"])
    return "You said: " + content.rsplit("[Their message]\n", 1)[-1]


@pytest.fixture
async def fake_llm() -> AsyncIterator[tuple[FakeLLM, str]]:
    """A fake LLM replying ``You said: <message>`` (see :func:`echo_message`)."""
    fake = FakeLLM(reply=echo_message)
    async with running_fake_llm(fake) as base_url:
        yield fake, base_url


@pytest.fixture(name="fake")
async def strict_fake() -> AsyncIterator[FakeLLM]:
    """A strict fake model on loopback, scripted by the test (``fake.script([...])``): it
    fails the test on a call nobody scripted or a scripted answer nobody asked for."""
    async with strict_fake_llm() as fake:
        yield fake


@pytest.fixture
async def fake_speech() -> AsyncIterator[tuple[FakeSpeech, str]]:
    """A fake speech server (vLLM-like); fails the test on unexpected or unused transcripts."""
    fake = FakeSpeech()
    async with running_fake_speech(fake) as base_url:
        yield fake, base_url
    fake.assert_done()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's KITH_* variables or .env."""
    import os

    for name in list(os.environ):
        if name.startswith("KITH_"):
            monkeypatch.delenv(name)
