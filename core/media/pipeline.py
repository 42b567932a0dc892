"""Before a turn: fetch its voice notes and photos, transcribe or prepare them, and say what
the turn sees — the person's words (the transcript, marked), the image parts, a notice.

Nothing here knows a platform: channels implement :class:`MediaSource`; the composition root
registers them. Media bytes live only for the turn; photos stay in memory (never on disk)
for the next few turns of the same conversation.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace

from core.channel_state import Once
from core.events import Attachment, Inbound, Origin, Quoted, Trust
from core.llm import ChatMessage, ChatModel, LLMError
from core.logging import get_logger
from core.media import words
from core.media.audio import BadAudio, probe_seconds, to_wav
from core.media.images import BadImage, PreparedImage, prepare_image
from core.media.recent import MAX_IMAGES, RecentImages
from core.media.source import Fetched, MediaSource, MediaTooLarge
from core.media.speech import SpeechClient, SpeechError
from core.settings import MediaSettings, SpeechSettings

log = get_logger("kith.media")
DESCRIPTION_CHARS = 300


@dataclass(frozen=True, slots=True)
class MediaTurn:
    """What the turn sees once its media is prepared."""

    inbound: Inbound  # ``text`` is what history, memory and the prompt see
    images: tuple[str, ...] = ()  # data URLs for this turn's prompt (new and recent)
    volatile: tuple[str, ...] = ()  # notes for the volatile part of the prompt
    notice: str = ""  # said to the person before (or instead of) the answer
    answer: bool = True  # False: the notice is the whole reply, no model call
    model: str | None = None  # the vision model, when images are attached


@dataclass(slots=True)
class _Outcome:
    text: str = ""  # recorded in place of the file
    notice: str = ""
    image: PreparedImage | None = None
    volatile: list[str] = field(default_factory=list)
    usable: bool = False  # the model has something to answer


def quoted(inbound: Inbound, outcomes: list[_Outcome]) -> tuple[Quoted, ...]:
    """Transcripts and descriptions of files the sender forwarded: someone else's words."""
    origin = inbound.quoted[0].origin if inbound.quoted else Origin.FORWARDED_MESSAGE
    return tuple(Quoted(origin=origin, text=o.text) for o in outcomes if o.text)


def media_kind(attachment: Attachment) -> str | None:
    """audio, image or video when Kith handles it; documents by their MIME type."""
    kind = attachment.kind
    if kind == "document":
        kind = attachment.mime_type.split("/", 1)[0]
    return kind if kind in ("audio", "image", "video") else None


class MediaPipeline:
    def __init__(self, model: ChatModel, speech: SpeechSettings, media: MediaSettings,
                 vision_model: str | None = None, told: Once | None = None) -> None:
        self.model = model
        self.speech_settings = speech
        self.settings = media
        self.vision_model = vision_model
        self.speech = SpeechClient(speech) if speech.configured else None
        self.recent = RecentImages(media.keep_image_turns, media.keep_image_minutes * 60.0)
        self.sources: dict[tuple[str, str], MediaSource] = {}
        self.told = told  # the owner's one hint per bot and missing model; None: every time
        self._logged: set[str] = set()

    def register(self, bot: str, channel: str, source: MediaSource) -> None:
        self.sources[(bot, channel)] = source

    def forget(self, inbound: Inbound) -> None:
        """Drop the photos kept for the conversation (``/forget``, ``/reset``)."""
        self.recent.forget(inbound.conversation)

    async def aclose(self) -> None:
        if self.speech is not None:
            await self.speech.aclose()

    # -- the turn ------------------------------------------------------------------------

    async def prepare(self, inbound: Inbound, vision_model: str | None = None) -> MediaTurn:
        vision = vision_model or self.vision_model
        conv = inbound.conversation
        earlier = self.recent.take(conv) if vision else ()
        files = [a for a in inbound.attachments if media_kind(a)]
        if not files:
            if not earlier:
                return MediaTurn(inbound)
            return MediaTurn(inbound, earlier, (words.EARLIER_IMAGES,), model=vision)
        caption = words.caption_of(inbound.text)
        started = time.perf_counter()
        outcomes = [await self._one(a, inbound, vision) for a in files]
        own = [o for a, o in zip(files, outcomes, strict=True) if not a.quoted]
        theirs = [o for a, o in zip(files, outcomes, strict=True) if a.quoted]
        new = tuple(o.image.data_url for o in outcomes if o.image is not None)
        self.recent.add(conv, new)
        images = (earlier + new)[-MAX_IMAGES:]
        notes = [n for o in outcomes for n in o.volatile]
        if earlier:
            notes.append(words.EARLIER_IMAGES)
        text = "\n".join([*(o.text for o in own), caption] if caption else
                         [o.text for o in own])
        notice = " ".join(dict.fromkeys(o.notice for o in outcomes if o.notice))
        usable = bool(caption) or any(o.usable for o in outcomes)
        log.info("media_prepared", files=len(files), images=len(images), refused=bool(notice),
                 ms=round((time.perf_counter() - started) * 1000, 1))
        return MediaTurn(
            replace(inbound, text=text, quoted=inbound.quoted + quoted(inbound, theirs)),
            images, tuple(notes), notice, usable, vision if images else None,
        )

    async def _one(self, attachment: Attachment, inbound: Inbound,
                   vision: str | None) -> _Outcome:
        kind = media_kind(attachment)
        if kind == "video":
            return _Outcome(words.not_read("video", "videos are not supported"), words.NO_VIDEO)
        if kind == "audio":
            return await self._audio(attachment, inbound)
        return await self._image(attachment, inbound, vision)

    async def _audio(self, attachment: Attachment, inbound: Inbound) -> _Outcome:
        limits = self.settings
        if self.speech is None:
            return _Outcome(words.not_read("voice note", "no speech model configured"),
                            await self._unconfigured(inbound, "speech"))
        limit = int(limits.max_audio_mb * 1_000_000)
        if attachment.duration and attachment.duration > limits.max_audio_seconds:
            return _Outcome(words.not_read("voice note", "too long"),
                            words.too_long(attachment.duration, limits.max_audio_seconds))
        fetched = await self._fetch(attachment, inbound, limit, "voice note")
        if isinstance(fetched, _Outcome):
            return fetched
        try:
            seconds = await asyncio.to_thread(probe_seconds, fetched.data)
            if seconds > limits.max_audio_seconds:
                return _Outcome(words.not_read("voice note", "too long"),
                                words.too_long(seconds, limits.max_audio_seconds))
            data, name, mime = await self._for_server(fetched, attachment)
        except BadAudio as err:
            log.warning("media_bad_audio", error=str(err))
            return _Outcome(words.not_read("voice note", "unreadable"),
                            words.unreadable("voice note"))
        try:
            transcript = await self.speech.transcribe(data, name, mime)
        except SpeechError as err:
            log.warning("media_transcription_failed", error=str(err))
            return _Outcome(words.not_read("voice note", "transcription failed"),
                            words.unheard())
        notes = [words.UNCERTAIN] if transcript.uncertain else []
        return _Outcome(words.transcribed(transcript.text), volatile=notes,
                        usable=bool(transcript.text))

    async def _for_server(self, fetched: Fetched,
                          attachment: Attachment) -> tuple[bytes, str, str]:
        """The bytes, file name and type the speech server takes (converted only if asked)."""
        mime = (fetched.mime_type or attachment.mime_type or "audio/ogg").split(";")[0]
        if self.speech_settings.convert == "wav" and mime not in ("audio/wav", "audio/x-wav"):
            return await asyncio.to_thread(to_wav, fetched.data), "voice.wav", "audio/wav"
        extension = mime.split("/", 1)[1].removeprefix("x-") if "/" in mime else "ogg"
        return fetched.data, attachment.name or f"voice.{extension}", mime

    async def _image(self, attachment: Attachment, inbound: Inbound,
                     vision: str | None) -> _Outcome:
        if vision is None:
            return _Outcome(words.not_read("photo", "no vision model configured"),
                            await self._unconfigured(inbound, "vision"))
        limit = int(self.settings.max_image_mb * 1_000_000)
        fetched = await self._fetch(attachment, inbound, limit, "photo")
        if isinstance(fetched, _Outcome):
            return fetched
        try:
            image = await asyncio.to_thread(prepare_image, fetched.data,
                                            self.settings.image_max_side)
        except BadImage as err:
            log.warning("media_bad_image", error=str(err))
            return _Outcome(words.not_read("photo", "unreadable"), words.unreadable("image"))
        description = await self._describe(image, inbound, vision)
        return _Outcome(words.photo(description), image=image, usable=True)

    async def _describe(self, image: PreparedImage, inbound: Inbound, vision: str) -> str:
        """A short description kept in history (one call per photo, made once)."""
        if not self.settings.describe_images:
            return ""
        messages = [ChatMessage("system", words.DESCRIBE),
                    ChatMessage("user", "Describe the image.", images=(image.data_url,))]
        try:
            result = await self.model.complete(
                messages, route_key=str(inbound.conversation), model=vision, max_tokens=120)
        except LLMError as err:
            log.warning("media_describe_failed", error=str(err))
            return ""
        return " ".join(result.text.split())[:DESCRIPTION_CHARS]

    async def _fetch(self, attachment: Attachment, inbound: Inbound, limit: int,
                     what: str) -> Fetched | _Outcome:
        if attachment.size is not None and attachment.size > limit:
            return _Outcome(words.not_read(what, "too large"),
                            words.too_big(what, attachment.size, limit))
        conv = inbound.conversation
        source = self.sources.get((conv.bot, conv.channel))
        if source is None:
            return _Outcome(words.not_read(what, "channel cannot fetch files"), words.NO_SOURCE)
        try:
            fetched = await source.fetch_media(attachment, limit)
        except MediaTooLarge as err:
            return _Outcome(words.not_read(what, "too large"),
                            words.too_big(what, err.size, limit))
        except Exception as err:  # any platform failure: tell the person, keep the turn
            log.warning("media_fetch_failed", kind=attachment.kind, error=str(err))
            return _Outcome(words.not_read(what, "download failed"), words.unfetched(what))
        if len(fetched.data) > limit:
            return _Outcome(words.not_read(what, "too large"),
                            words.too_big(what, len(fetched.data), limit))
        return fetched

    # -- telling the owner once ----------------------------------------------------------

    async def _unconfigured(self, inbound: Inbound, what: str) -> str:
        sentence = words.NO_SPEECH if what == "speech" else words.NO_VISION
        bot = inbound.conversation.bot
        if what not in self._logged:
            self._logged.add(what)
            setting = ("KITH_SPEECH__BASE_URL and KITH_SPEECH__MODEL" if what == "speech"
                       else "KITH_LLM__VISION_MODEL")
            log.warning(f"{what}_not_configured", bot=bot, configure=setting)
        if inbound.trust is not Trust.OWNER or not await self._first(f"{bot}.{what}"):
            return sentence
        return f"{sentence} {words.OWNER_SPEECH if what == 'speech' else words.OWNER_VISION}"

    async def _first(self, key: str) -> bool:
        return True if self.told is None else await self.told.first(key)
