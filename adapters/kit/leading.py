"""Run a single-consumer loop (polling, sync, a mailbox watch) only while this process leads.

``while_leading(leadership, "telegram/mybot", poll)`` waits to lead the name, runs ``poll``,
cancels it the moment the lead is lost, and waits to lead again. With one process
(:class:`core.coordination.LocalLeadership`) it simply runs ``poll``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from core.coordination import Leadership
from core.logging import get_logger

log = get_logger("kith.leading")
RETRY = 1.0  # seconds before leading again after the loop failed or the lead was lost


async def while_leading(leadership: Leadership, name: str,
                        body: Callable[[], Awaitable[None]], *, retry: float = RETRY) -> None:
    """Run ``body`` whenever this process leads ``name``; return when ``body`` returns on
    its own (it gave up for good, e.g. a rejected token); cancel it when the lead is lost."""
    while True:
        try:
            async with leadership.lead(name) as lead:
                log.info("consumer_leading", name=name)
                work = asyncio.ensure_future(body())
                lost = asyncio.ensure_future(lead.lost.wait())
                try:
                    await asyncio.wait({work, lost}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for task in (work, lost):
                        task.cancel()
                    await asyncio.gather(work, lost, return_exceptions=True)
                if not work.cancelled() and (err := work.exception()) is not None:
                    raise err
                if not lead.lost.is_set():
                    return  # body returned on its own
                log.warning("consumer_lead_lost", name=name)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("consumer_failed", name=name)
        await asyncio.sleep(retry)
