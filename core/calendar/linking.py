"""People link their own calendars: ``/calendar connect URL USERNAME`` in a private chat,
the password in the next message, ``/calendar status`` and ``/calendar disconnect``.

The password message is consumed here, before anything else of the turn: it never
reaches the model, the history or memory; the inbox keeps :data:`links.SCRUBBED` in its
place (one transaction with the link), and the platform deletes it where it can
(``erase``), else the person is asked to. The credentials are checked against the server
(``verify``: one PROPFIND) before they are kept, sealed by the vault.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from core.calendar.links import ASK_FOR, SCRUBBED, Asking, CalendarLinks, Link, purpose
from core.calendar.model import CalendarError
from core.events import Inbound, Trust
from core.ids import PersonId
from core.logging import get_logger
from core.vault import Vault

log = get_logger("kith.calendar")

Verify = Callable[[str, str, str], Awaitable[None]]  # url, username, password; CalendarError
Erase = Callable[[Inbound], Awaitable[bool]]  # True: the platform deleted the message
# when Kith last read a person's linked calendar, and the calendars it found there
Seen = Callable[[PersonId], tuple[datetime | None, list[str]]]

USAGE = ("Usage: /calendar connect URL USERNAME (then I ask for the password), "
         "/calendar status, /calendar disconnect, /calendar cancel ID")
PRIVATE = ("Link your calendar in our private chat, not here: the password must not be "
           "seen by anyone else.")
ERASED = "I deleted your message with the password."
NOT_ERASED = ("I can't delete messages here: please delete your message with the password "
              "yourself.")
IN_COMMAND = ("Please never put the password in the command: I removed that message's text "
              "from what I keep. Send /calendar connect URL USERNAME, then the password on "
              "its own.")


def _when(at: datetime) -> str:
    return f"{at.astimezone(UTC):%a %d %b %Y %H:%M} UTC"


def check_url(url: str) -> str | None:
    """What is wrong with a calendar address, or None (pure). Plain http only to this
    machine: a password is never sent over the network in clear."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "The address must start with https:// (your calendar server's CalDAV URL)."
    if parts.username or parts.password:
        return "Put no username or password in the address: send them as I ask."
    if parts.scheme == "http":
        host = parts.hostname
        try:
            local = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = False
        if not local:
            return "Use an https:// address: I won't send your password over plain http."
    return None


class Linking:
    """:class:`core.calendar.model.Linker` over the links store, the vault and the calendar
    server. ``configured(bot)``: the bot's owner has a calendar in bot.toml."""

    def __init__(self, links: CalendarLinks, vault: Vault, verify: Verify, erase: Erase,
                 seen: Seen, configured: Callable[[str], bool],
                 forget: Callable[[PersonId], Awaitable[None]],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.links = links
        self.vault = vault
        self._verify = verify
        self._erase = erase
        self._seen = seen
        self._configured = configured
        self._forget = forget
        self._clock = clock

    async def connect(self, inbound: Inbound, person_id: PersonId, args: str) -> str:
        if inbound.is_group:
            return PRIVATE
        if inbound.trust is Trust.OWNER and self._configured(inbound.conversation.bot):
            return "Your calendar is the one in my bot.toml ([calendar]); I use that one."
        words = args.split()
        if len(words) != 2:
            return USAGE
        url, username = words
        problem = check_url(url)
        if problem is not None:
            return problem
        await self.links.ask(Asking(person_id, inbound.conversation, url, username,
                                    self._clock()))
        minutes = int(ASK_FOR.total_seconds() // 60)
        return (f"Now send me the password for {username} at {url} as your next message "
                f"(within {minutes} minutes). I check it with the server, keep it encrypted, "
                "never show it to my language model, and delete your message where the "
                "chat lets me.")

    async def answer(self, inbound: Inbound, person_id: PersonId, asking: Asking | None
                     ) -> str | None:
        if inbound.scheduled is not None or inbound.decision is not None:
            return None
        text = inbound.text.strip()
        head = text.split()
        if head[:2] == ["/calendar", "connect"] and len(head) > 4:  # a password in it, too
            await self.links.consume(person_id, inbound.id, None)  # (in a group as well)
            erased = await self._erase(inbound)
            return f"{IN_COMMAND} {ERASED if erased else NOT_ERASED}"
        if inbound.is_group:
            return None
        if text == SCRUBBED:  # a resumed turn whose password was already dealt with
            return await self.status(inbound, person_id)
        if (asking is None or asking.conversation != inbound.conversation
                or self._clock() - asking.asked_at > ASK_FOR or not text
                or head[0] == "/calendar"):  # connecting again, or asking how it stands
            return None
        try:
            await self._verify(asking.url, asking.username, text)
        except CalendarError as err:
            failed: str | None = str(err)
        else:
            failed = None
        link = None if failed else Link(person_id, asking.url, asking.username,
                                        self.vault.seal(text, purpose(person_id)),
                                        self._clock())
        await self.links.consume(person_id, inbound.id, link)
        await self._forget(person_id)  # a client with the old password goes
        erased = await self._erase(inbound)
        log.info("calendar_link", ok=failed is None, erased=erased)
        tail = ERASED if erased else NOT_ERASED
        if failed:
            return (f"That didn't work: {failed} Nothing was saved; send /calendar connect "
                    f"URL USERNAME to try again. {tail}")
        return (f"Connected: I now read your calendar at {asking.url} as {asking.username} "
                f"(try /agenda). {tail}")

    async def status(self, inbound: Inbound, person_id: PersonId) -> str:
        if inbound.trust is Trust.OWNER and self._configured(inbound.conversation.bot):
            return "Your calendar is the one in my bot.toml ([calendar])."
        link = await self.links.link(person_id)
        if link is None:
            asking = await self.links.asking(person_id)
            if asking is not None and self._clock() - asking.asked_at <= ASK_FOR:
                return (f"I'm waiting for the password for {asking.username} at "
                        f"{asking.url} (send it in our private chat).")
            return ("No calendar of yours is linked. In our private chat: /calendar connect "
                    "URL USERNAME.")
        seen, names = self._seen(person_id)
        last = f"last read {_when(seen)}" if seen else "not read since I last started"
        found = f" ({', '.join(names)})" if names else ""
        return (f"Your calendar: {link.url} as {link.username}{found}, linked "
                f"{_when(link.linked_at)}; {last}. /calendar disconnect deletes what I keep "
                "of it.")

    async def disconnect(self, inbound: Inbound, person_id: PersonId) -> str:
        if inbound.is_group:
            return PRIVATE
        gone = await self.links.unlink(person_id)
        await self._forget(person_id)
        if not gone:
            return "No calendar of yours was linked; nothing to delete."
        return ("Disconnected: I deleted your calendar's address, username and password. "
                "Your calendar itself is untouched.")
