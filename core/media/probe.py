"""``kith check`` for voice and photos: is a speech server there, is the vision model served."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import httpx

from core.llm import endpoint_label
from core.settings import Settings


async def probe_speech(settings: Settings) -> tuple[str, bool]:
    """One line about the speech endpoint, and whether it is usable (or not configured)."""
    speech = settings.speech
    if not speech.configured or speech.base_url is None:
        return ("speech: not configured — voice notes get \"I can't listen to voice notes "
                "here yet\"; set KITH_SPEECH__BASE_URL and KITH_SPEECH__MODEL (see infra/)",
                True)
    label = endpoint_label(speech.base_url)
    headers = {"authorization": f"Bearer {speech.api_key.get_secret_value()}"}
    try:
        async with httpx.AsyncClient(timeout=settings.llm.connect_timeout) as client:
            response = await client.get(f"{speech.base_url}/models", headers=headers)
    except httpx.HTTPError as err:
        return f"speech {label}: does not answer ({type(err).__name__})", False
    if response.status_code == 404:  # whisper.cpp's server has no model list
        return f"speech {label}: answers (no model list; whisper.cpp?)", True
    if response.status_code != 200:
        return f"speech {label}: answers {response.status_code}", False
    try:
        served = [str(m.get("id")) for m in response.json().get("data") or ()]
    except (ValueError, AttributeError):
        served = []
    note = "" if not served or speech.model in served else (
        f" — but not {speech.model}; set KITH_SPEECH__MODEL")
    return f"speech {label}: answers, serving {', '.join(served) or 'no models listed'}{note}", \
        True


def vision_lines(default: str | None, per_bot: Mapping[str, str | None],
                 served: Iterable[str]) -> list[str]:
    """Which vision model each bot uses, and whether any LLM endpoint lists it (pure)."""
    listed = set(served)
    lines = []
    for bot, own in per_bot.items():
        model = own or default
        if model is None:
            lines.append(f"vision ({bot}): not configured — photos get \"I can't look at "
                         "photos here yet\"; set KITH_LLM__VISION_MODEL (see infra/)")
        elif listed and model not in listed:
            lines.append(f"vision ({bot}): {model} is not served by any LLM endpoint")
        else:
            lines.append(f"vision ({bot}): {model}")
    return lines
