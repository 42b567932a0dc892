"""The outbound pool: connections are reused, and a relay restart costs no draft."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from adapters.email.channel import Outbox
from adapters.email.config import OutboundConfig
from tests.adapters.email.servers import Relay
from tests.support import free_port


def _mail(n: int) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "k@kith.example", "o@example.com", f"{n}"
    message.set_content(f"draft {n}")
    return message


async def test_connection_reused_and_relay_restart_survived() -> None:
    port = free_port()
    relay = Relay(port=port)
    controller = Controller(relay, hostname="127.0.0.1", port=port, server_hostname="r.test")
    controller.start()
    outbox = Outbox(OutboundConfig(host="127.0.0.1", port=port, security="none", attempts=3,
                                   backoff=0.01, connections=2), "kith.example")
    try:
        await asyncio.gather(*(outbox.send(_mail(n), "k@kith.example", "o@example.com")
                               for n in range(6)))
        assert len(relay.received) == 6
        assert 1 <= len(outbox._idle) <= 2  # at most `connections` sessions were opened
        controller.stop()  # the relay restarts: pooled connections are now dead
        controller = Controller(relay, hostname="127.0.0.1", port=port,
                                server_hostname="r.test")
        controller.start()
        await outbox.send(_mail(7), "k@kith.example", "o@example.com")
        assert len(relay.received) == 7
        assert all(c.recipients == ["o@example.com"] for c in relay.received)
    finally:
        await outbox.close()
        controller.stop()
