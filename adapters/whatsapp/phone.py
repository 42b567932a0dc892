"""Phone numbers in E.164, so one person is one id whichever WhatsApp provider they came by."""

from __future__ import annotations

import phonenumbers


def to_e164(raw: object) -> str | None:
    """``whatsapp:+1 415-523-8886``, ``14155238886`` (a Cloud ``wa_id``) → ``+14155238886``.

    Pure and total: anything that is not a plausible international number gives None.
    """
    if not isinstance(raw, str) or len(raw) > 64:
        return None
    text = raw.strip()
    if text.lower().startswith("whatsapp:"):
        text = text[len("whatsapp:"):].strip()
    if not text:
        return None
    if not text.startswith("+"):
        text = "+" + text  # providers send international numbers; wa_id has no '+'
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def e164_list(values: list[str]) -> tuple[str, ...]:
    """Validate configured numbers (owners, allowed_numbers); raise ValueError on a bad one."""
    out = []
    for value in values:
        number = to_e164(value)
        if number is None:
            raise ValueError(f"{value!r} is not a phone number in international (E.164) form")
        out.append(number)
    return tuple(out)
