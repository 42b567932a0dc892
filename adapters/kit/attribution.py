"""Where a person's own words end (pure). Forwards fail closed.

A platform that marks forwards (Telegram's ``forward_origin``, Twilio's ``Forwarded``, the
Cloud API's ``context.forwarded``) says so with certainty. Inside the text itself nothing
is certain: a pasted forward, a client whose forward header Kith does not know, a quote
typed by hand. So the text is the person's own only up to the first line that cannot be
attributed to them — a line that looks like part of someone else's message (a quote line,
a separator or forward marker, a mail header field in any language, "… wrote:") — and
everything from that line on is untrusted. Knowing more client formats only makes fewer
cuts; it is not the defence.
"""

from __future__ import annotations

import re
import unicodedata

from core.events import Origin, Quoted

MAX_UNATTRIBUTED = 20_000

_QUOTE = re.compile(r"^\s*[>|]")
_SEPARATOR = re.compile(r"^\s*[-_=*~—–―─━]{3,}")
_FORWARD_WORDS = re.compile(
    r"forwarded|original message|begin forwarded|weitergeleitet|ursprüngliche|transféré|"
    r"d'origine|reenviado|mensaje original|inoltrat|messaggio originale|encaminhad|"
    r"reencaminhad|doorgestuurd|oorspronkelijk|vidarebefordra|videresendt|przekazan|"
    r"oryginaln|iletilen|пересыла|переслан|исходное сообщение|転送|元のメッセージ|转发|轉寄|"
    r"轉發|原始邮件|原始郵件|전달된|원본 메시지|הודעה שהועברה|رسالة معاد توجيهها", re.I)
_LABELS = frozenset((  # mail header labels, several languages
    "from", "to", "cc", "bcc", "date", "sent", "subject", "reply-to", "von", "an", "datum",
    "gesendet", "betreff", "de", "à", "a", "para", "envoyé", "objet", "enviado", "fecha",
    "asunto", "da", "inviato", "oggetto", "data", "assunto", "van", "aan", "verzonden",
    "onderwerp", "från", "till", "skickat", "ämne", "fra", "til", "sendt", "emne", "od", "do",
    "wysłano", "temat", "kimden", "kime", "tarih", "konu", "от", "кому", "дата", "тема",
    "отправлено", "差出人", "送信者", "宛先", "送信日時", "日時", "件名",
    "发件人", "收件人", "抄送", "日期", "主题", "主題", "寄件者", "收件者",
    "傳送時間", "主旨", "보낸사람", "받는사람", "날짜", "제목", "보낸 사람", "받는 사람",
    "sent on", "envoyé le", "enviado el", "gesendet am",
))
_FIELD = re.compile(r"^\s*[*_]*\s*([^\W\d_][^:\n]{0,24}?)\s*[*_]*\s*:\s*(.*)$")
_ADDRESS = re.compile(r"[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+")
_WHEN = re.compile(r"\b(19|20)\d{2}\b|\b\d{1,2}:\d{2}\b")


def _flat(line: str) -> str:
    """Full-width colons, brackets and letters become plain ones (NFKC)."""
    return unicodedata.normalize("NFKC", line)


def unattributable(line: str) -> bool:
    """Could this line be part of someone else's message rather than the person's own?"""
    flat = _flat(line)
    text = flat.strip()
    if not text:
        return False
    if _QUOTE.match(flat) or _SEPARATOR.match(flat) or _FORWARD_WORDS.search(text):
        return True
    if "<" in text and _ADDRESS.search(text):  # Name <address>: a header or an intro
        return True
    field = _FIELD.match(text)
    if field is not None:
        label = " ".join(field.group(1).lower().split())
        if label in _LABELS or _ADDRESS.search(field.group(2)):
            return True
    # "On Tue, 3 Jun 2025 at 10:00, Bob wrote:", "2025年6月3日(火) 10:00 Bob:"
    return text.endswith(":") and bool(_WHEN.search(text) or _ADDRESS.search(text))


def own_words(text: str) -> tuple[str, str]:
    """(the person's own words, the rest from the first line that cannot be theirs)."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if unattributable(line):
            return "\n".join(lines[:index]).strip(), "\n".join(lines[index:]).strip()
    return text, ""


def unattributed(rest: str) -> Quoted:
    return Quoted(origin=Origin.UNATTRIBUTED, text=rest[:MAX_UNATTRIBUTED])


def split(text: str) -> tuple[str, tuple[Quoted, ...]]:
    """(own words, and the rest as untrusted quoted content when there is any)."""
    own, rest = own_words(text)
    return own, (unattributed(rest),) if rest else ()
