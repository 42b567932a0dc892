"""Speech to text through an OpenAI-compatible ``/v1/audio/transcriptions`` (multipart).

vLLM serving Whisper and whisper.cpp's server (``--inference-path /v1/audio/transcriptions``)
both speak it. The SDK builds the multipart body; its own retries are off and one tenacity
policy (connect errors, timeouts, 429, 5xx) — the chat model's — is in our hands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from core.llm import endpoint_label, is_retryable
from core.settings import SpeechSettings

UNCERTAIN_LOGPROB = -1.0  # Whisper's own threshold for a failed decode
NO_SPEECH = 0.6


class SpeechError(Exception):
    """The speech server did not give a transcript; the message is safe to log."""


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    uncertain: bool = False  # low confidence or likely no speech (verbose_json only)
    language: str | None = None


def decode_transcript(body: Any) -> Transcript:
    """An OpenAI transcription body (json or verbose_json) as a Transcript (pure)."""
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        raise SpeechError("the speech server answered without a transcript")
    segments = [s for s in body.get("segments") or () if isinstance(s, dict)]
    uncertain = any(
        float(s.get("avg_logprob", 0.0)) < UNCERTAIN_LOGPROB
        or float(s.get("no_speech_prob", 0.0)) > NO_SPEECH
        for s in segments
    )
    language = body.get("language") if isinstance(body.get("language"), str) else None
    return Transcript(body["text"].strip(), uncertain, language)


class SpeechClient:
    def __init__(self, settings: SpeechSettings, attempts: int = 3) -> None:
        if not settings.configured or settings.base_url is None:
            raise ValueError("speech is not configured")
        self.settings = settings
        self.label = endpoint_label(settings.base_url)
        self.attempts = attempts
        import openai  # here: only a fleet with speech configured pays for importing it

        self.client = openai.AsyncOpenAI(
            base_url=settings.base_url, api_key=settings.api_key.get_secret_value(),
            max_retries=0, timeout=openai.Timeout(settings.timeout, connect=5.0),
        )

    async def transcribe(self, audio: bytes, filename: str, mime_type: str) -> Transcript:
        import openai

        extra: dict[str, Any] = {}
        if self.settings.language:
            extra["language"] = self.settings.language
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts), reraise=True,
            wait=wait_random_exponential(multiplier=0.25, max=4.0),
            retry=retry_if_exception(is_retryable),
        )
        async def call() -> Any:
            return await self.client.audio.transcriptions.create(
                model=self.settings.model or "", file=(filename, audio, mime_type),
                response_format=self.settings.response_format, **extra,
            )

        try:
            result: Any = await retrying(call)
        except openai.APIStatusError as err:
            raise SpeechError(f"{self.label} answered {err.status_code}") from None
        except (openai.APIError, OSError) as err:
            raise SpeechError(f"{self.label} did not answer ({type(err).__name__})") from None
        body = result.model_dump() if hasattr(result, "model_dump") else result
        return decode_transcript(body)

    async def aclose(self) -> None:
        await self.client.close()
