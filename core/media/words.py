"""What Kith says and records about media: one honest sentence each, and history markers."""

from __future__ import annotations

import re

NO_SPEECH = "I can't listen to voice notes here yet — could you type it for me?"
NO_VISION = "I can't look at photos here yet — could you tell me what's in it?"
NO_VIDEO = "I can't watch videos yet — could you tell me what's in it, or send a photo?"
NO_SOURCE = "I can't open files sent on this channel yet."
OWNER_SPEECH = ("(Owner: to let me listen, set KITH_SPEECH__BASE_URL and KITH_SPEECH__MODEL to "
                "a Whisper server — vLLM or whisper.cpp, see infra/. I'll say this once.)")
OWNER_VISION = ("(Owner: to let me see photos, set KITH_LLM__VISION_MODEL (or vision_model in "
                "bot.toml) to a vision model on your servers — see infra/. I'll say this once.)")
UNCERTAIN = ("The voice note's transcript may be wrong in places: quote back what you "
             "understood when it matters, and ask if it is right.")
EARLIER_IMAGES = "Photos from earlier in this conversation are attached again for reference."
DESCRIBE = ("Describe this image in at most two short sentences for a conversation log: the "
            "main subjects, colours, any text you can read. No preamble.")

_PLACEHOLDER = re.compile(r"^\[(?:sent an? )?(?:image|audio|video|document|voice|photo)\]$")


def caption_of(text: str) -> str:
    """The person's own words that came with a file; adapters' bare-file markers are none."""
    stripped = text.strip()
    return "" if _PLACEHOLDER.match(stripped) else stripped


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.0f} MB" if size >= 10_000_000 else f"{size / 1_000_000:.1f} MB"


def too_big(what: str, size: int | None, limit: int) -> str:
    said = f" ({megabytes(size)})" if size else ""
    return f"That {what} is too large for me{said}: I take up to {megabytes(limit)}."


def too_long(seconds: float, limit: int) -> str:
    return (f"That voice note is too long for me ({seconds / 60:.1f} minutes): I take up to "
            f"{limit / 60:.0f} minutes. Could you send a shorter one?")


def unreadable(what: str) -> str:
    return f"I couldn't open that {what} — it looks damaged. Could you send it again?"


def unfetched(what: str) -> str:
    return f"I couldn't download that {what} — could you send it again?"


def unheard() -> str:
    return "I couldn't transcribe your voice note just now — my speech server didn't answer."


def transcribed(text: str) -> str:
    return f"[voice note, transcribed] {text}" if text else "[voice note, no speech heard]"


def photo(description: str) -> str:
    return f"[photo: {description}]" if description else "[photo]"


def not_read(what: str, why: str) -> str:
    return f"[{what} — not read: {why}]"
