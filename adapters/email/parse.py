"""Pure parsing of a mail the owner forwarded: their note on top, the forwarded message below.

Standard library ``email`` with ``policy.default``; HTML-only parts go through html2text.
Recognized: Gmail ("---------- Forwarded message ---------", several languages), Outlook
(underscore line or "-----Original Message-----" + From/Sent/To/Subject block, several
languages), Apple Mail ("Begin forwarded message:"), forward-as-attachment
(``message/rfc822``) and quoted reply chains ("On …, X wrote:"). Anything else is still
handled: the whole body becomes the forwarded message, from an unknown sender. Never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

from adapters.email.addresses import (
    Address,
    header,
    header_addresses,
    parse_addresses,
    sender_of,
)
from adapters.email.html import html_to_text

MAX_PARTS = 200  # MIME parts walked per message: a bound against pathological nesting
_BOUNDARY = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.I)
_DASHES = re.compile(rb"^--([^\r\n]{1,204})", re.M)


@dataclass(frozen=True, slots=True)
class Forwarded:
    """The message the owner forwarded, as far as it could be recovered."""

    sender: Address | None = None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    date: str = ""
    subject: str = ""
    body: str = ""
    attachments: tuple[str, ...] = ()
    message_id: str = ""  # only known for forward-as-attachment
    references: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """The outer mail (from the owner) and what it carries."""

    sender: Address | None
    subject: str
    message_id: str
    references: tuple[str, ...]
    note: str
    forwarded: Forwarded
    style: str  # gmail, outlook, apple, rfc822, quoted, plain
    attachments: tuple[str, ...] = field(default=())


# -- header labels of forwarded blocks, several languages --------------------------------

_LABELS: dict[str, str] = {}
for _field, _names in {
    "from": "from von de da van от från fra od",
    "to": "to an à a para aan til till do",
    "cc": "cc kopie copie cco",
    "date": "date sent datum gesendet envoyé enviado fecha data inviato verzonden "
            "enviada skickat sendt wysłano",
    "subject": "subject betreff objet asunto oggetto assunto onderwerp ämne emne temat тема",
}.items():
    for _name in _names.split():
        _LABELS[_name.rstrip(":")] = _field
_LABELS.update({"enviado el": "date", "enviada em": "date", "envoyé le": "date",
                "sent on": "date", "gesendet am": "date", "reply-to": "reply-to"})

_HEADER_LINE = re.compile(r"^\s*[*>]*\s*([^\W\d_][\w .-]{0,20}?)\s*[*]*\s*:\s*[*]*\s*(.*)$")
_GMAIL = re.compile(
    r"^\s*-{3,}\s*(forwarded message|weitergeleitete nachricht|message transféré|"
    r"mensaje reenviado|messaggio inoltrato|mensagem encaminhada|doorgestuurd bericht|"
    r"vidarebefordrat meddelande|videresendt meddelelse|пересылаемое сообщение)\s*-{3,}\s*$",
    re.I,
)
_OUTLOOK = re.compile(
    r"^\s*(_{10,}|-{3,}\s*(original message|ursprüngliche nachricht|message d'origine|"
    r"mensaje original|messaggio originale|mensagem original|oorspronkelijk bericht)\s*-{3,})\s*$",
    re.I,
)
_APPLE = re.compile(
    r"^\s*(begin forwarded message|anfang der weitergeleiteten nachricht|"
    r"début du message réexpédié|inicio del mensaje reenviado|inizio messaggio inoltrato|"
    r"início da mensagem reencaminhada|begin doorgestuurd bericht)\s*:\s*$",
    re.I,
)
_WROTE = re.compile(
    r"^\s*((on|le|el|il|em|op)\s.{3,200}?\s(wrote|a écrit|escribió|ha scritto|escreveu|"
    r"schreef)|am\s.{3,200}?\sschrieb\s.{1,200}?)\s*:\s*$",
    re.I,
)
_VERB = re.compile(r"\s(wrote|schrieb|a écrit|escribió|ha scritto|escreveu|schreef)\b", re.I)
_FWD_SUBJECT = re.compile(r"^\s*((fwd?|wg|tr|rv|enc|i|doorst|vs|re|aw|sv)\s*:\s*)+", re.I)


def mime_parts(raw: bytes, stop: int = 1 << 30) -> int:
    """How many MIME parts the mail declares, counted on the bytes before any parsing.

    The container and every opening boundary line of every ``boundary=`` parameter found
    count (an upper bound: the
    parser builds at most that many parts), so a mail built to exhaust the parser is turned
    away after one linear scan. Counting ends at ``stop``.
    """
    boundaries = {m.group(1) or m.group(2) for m in _BOUNDARY.finditer(raw)}
    if not boundaries:
        return 1
    count = 1
    for match in _DASHES.finditer(raw):
        tail = match.group(1).rstrip()
        if tail in boundaries:  # a part opens (a closing delimiter ends in "--")
            count += 1
            if count >= stop:
                break
    return count


def parse_mail(raw: bytes) -> ParsedMail:
    """Decode one message; malformed input gives a best-effort result, never an exception."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        return _parse(message)
    except Exception:  # the stdlib parser has rare crashes on hostile input
        text = raw.decode("utf-8", "replace").replace("\r\n", "\n")
        _, _, body = text.partition("\n\n")
        return ParsedMail(None, "", "", (), "", Forwarded(body=body.strip()), "plain")


def _parse(message: EmailMessage) -> ParsedMail:
    subject = header(message, "subject")
    body, attached, names = _body_parts(message)
    note, style = body.strip(), "rfc822"
    forwarded: Forwarded | None = None
    if attached is not None:
        forwarded = _from_message(attached)
    else:
        note, forwarded, style = split_forward(body)
    if forwarded is None:
        forwarded = Forwarded(subject=_FWD_SUBJECT.sub("", subject).strip(), body=body.strip())
        note, style = "", "plain"
    if not forwarded.attachments and names and style != "rfc822":
        forwarded = _replace(forwarded, attachments=names)
    if not forwarded.subject:
        forwarded = _replace(forwarded, subject=_FWD_SUBJECT.sub("", subject).strip())
    return ParsedMail(
        sender=next(iter(header_addresses(message, "from")), None),
        subject=subject,
        message_id=header(message, "message-id"),
        references=tuple(header(message, "references").split()),
        note=note,
        forwarded=forwarded,
        style=style,
        attachments=names,
    )


def _replace(fwd: Forwarded, **changes: object) -> Forwarded:
    values = {name: getattr(fwd, name) for name in Forwarded.__slots__}
    values.update(changes)
    return Forwarded(**values)


# -- MIME walking --------------------------------------------------------------------------


def _body_parts(message: Message) -> tuple[str, Message | None, tuple[str, ...]]:
    """(text of the body, the first attached message/rfc822, attachment file names)."""
    plain: list[str] = []
    html: list[str] = []
    names: list[str] = []
    attached: Message | None = None
    stack: list[Message] = [message]
    seen = 0
    while stack and seen < MAX_PARTS:
        part = stack.pop(0)
        seen += 1
        ctype = part.get_content_type()
        if ctype == "message/rfc822" and part is not message:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and attached is None \
                    and isinstance(inner[0], Message):
                attached = inner[0]
            continue
        if part.is_multipart():
            payload = part.get_payload()
            stack[:0] = [p for p in payload if isinstance(p, Message)] if isinstance(
                payload, list) else []
            continue
        filename = _filename(part)
        if filename or part.get_content_disposition() == "attachment":
            names.append(filename or "(unnamed)")
        elif ctype == "text/plain":
            plain.append(decode_text(part))
        elif ctype == "text/html":
            html.append(decode_text(part))
    text = "\n".join(plain) if plain else "\n".join(html_to_text(h) for h in html)
    return normalize(text), attached, tuple(names)


def _filename(part: Message) -> str:
    try:
        return " ".join((part.get_filename() or "").split())
    except Exception:
        return ""


def decode_text(part: Message) -> str:
    """The text of a leaf part, whatever its (possibly unknown or lying) charset."""
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except Exception:
        pass
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    for charset in (part.get_content_charset() or "utf-8", "utf-8", "cp1252"):
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")


def normalize(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _from_message(inner: Message) -> Forwarded:
    body, _, names = _body_parts(inner)
    return Forwarded(
        sender=next(iter(header_addresses(inner, "from")), None),
        to=header_addresses(inner, "to"),
        cc=header_addresses(inner, "cc"),
        date=header(inner, "date"),
        subject=header(inner, "subject"),
        body=body.strip(),
        attachments=names,
        message_id=header(inner, "message-id"),
        references=tuple(header(inner, "references").split()),
    )


# -- forwarded blocks inside a text body --------------------------------------------------


def split_forward(body: str) -> tuple[str, Forwarded | None, str]:
    """(note, forwarded message, style) from a text body; (body, None, "plain") if none."""
    lines = body.split("\n")
    for index, line in enumerate(lines):
        style = _marker(line)
        if style == "quoted":
            return _quoted(lines, index)
        if style:
            forwarded = _header_block(lines[index + 1:])
            if forwarded is not None:
                return "\n".join(lines[:index]).strip(), forwarded, style
    for index, line in enumerate(lines):  # Outlook HTML: a header block with no marker line
        match = _HEADER_LINE.match(line.lstrip("> "))
        if match and _LABELS.get(match.group(1).strip().lower()) == "from":
            forwarded = _header_block(lines[index:])
            if forwarded is not None and forwarded.subject and (forwarded.date or forwarded.to):
                return "\n".join(lines[:index]).strip(" \n*-_"), forwarded, "outlook"
    return body, None, "plain"


def _marker(line: str) -> str:
    if len(line) > 300:
        return ""
    if _GMAIL.match(line):
        return "gmail"
    if _OUTLOOK.match(line):
        return "outlook"
    if _APPLE.match(line):
        return "apple"
    if _WROTE.match(line):
        return "quoted"
    return ""


def _header_block(lines: list[str]) -> Forwarded | None:
    """Read ``Label: value`` lines (blank lines allowed between them), then the body."""
    fields: dict[str, str] = {}
    index, last = 0, ""
    while index < len(lines) and index < 40:
        line = lines[index].lstrip("> ").rstrip()
        match = _HEADER_LINE.match(line)
        label = match.group(1).strip().lower() if match else ""
        if match and label in _LABELS:
            last = _LABELS[label]
            fields.setdefault(last, match.group(2).strip().strip("*").strip())
        elif not line:
            if fields and index + 1 < len(lines) and not _is_field(lines[index + 1]):
                index += 1
                break
        elif last and fields and lines[index].startswith((" ", "\t")):
            fields[last] += " " + line.strip()
        elif fields:
            break
        elif not line.strip("_-= "):
            pass
        else:
            return None
        index += 1
    if "from" not in fields and "subject" not in fields:
        return None
    body = "\n".join(lines[index:]).strip()
    return Forwarded(
        sender=sender_of(fields.get("from", "")),
        to=parse_addresses(fields.get("to", "")),
        cc=parse_addresses(fields.get("cc", "")),
        date=fields.get("date", ""),
        subject=fields.get("subject", ""),
        body=body,
    )


def _is_field(line: str) -> bool:
    match = _HEADER_LINE.match(line.lstrip("> "))
    return bool(match and match.group(1).strip().lower() in _LABELS)


def _quoted(lines: list[str], index: int) -> tuple[str, Forwarded, str]:
    """"On <date>, Alice <a@x> wrote:" followed by ``>`` lines: the quoted mail."""
    intro = lines[index]
    quoted = []
    for line in lines[index + 1:]:
        if line.startswith(">"):
            quoted.append(line[1:].removeprefix(" "))
        elif line.strip() or quoted:
            if not line.strip():
                quoted.append("")
                continue
            break
    sender, date = _intro(intro)
    return "\n".join(lines[:index]).strip(), Forwarded(
        sender=sender,
        date=date,
        body="\n".join(quoted).strip(),
    ), "quoted"


def _intro(intro: str) -> tuple[Address | None, str]:
    """Sender and date from "On <date>, Alice <a@x> wrote:" / "Am <date> schrieb Alice:"."""
    text = intro.strip().rstrip(":").strip()
    verb = _VERB.search(text)
    if verb is None:
        return None, ""
    if text[:3].lower() == "am ":
        head, who = text[3:verb.start()], text[verb.end():]
    else:
        before = text[:verb.start()]
        if "<" in before:
            head, _, rest = before[: before.index("<")].rpartition(",")
            who = rest + before[before.index("<"):]
        else:
            head, _, who = before.rpartition(",")
        head = head.split(" ", 1)[1] if " " in head else ""
    sender = sender_of(who) if "@" in who else None
    if sender is None and who.strip():
        sender = Address(who.strip(), "")
    return sender, head.strip().rstrip(",").strip()
