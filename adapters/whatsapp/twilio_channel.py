"""WhatsApp through Twilio: signed form webhooks, empty TwiML at once, replies by REST later.

The webhook only verifies, decodes and submits (durably), then answers ``<Response/>``:
a slow model never meets Twilio's 15-second webhook limit. The reply is sent when the turn
is complete, through the Messages API (``httpx``, async), split at 1600 characters.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import httpx
from pydantic import Field, field_validator
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from adapters.base import ChannelConfig, ChannelContext, ChannelSpec, EnvSecret
from adapters.kit import LIMITS, PlatformError, split_text
from adapters.kit.links import plain_links
from adapters.whatsapp.common import (
    Policy,
    WindowWatch,
    download_capped,
    error_code,
    log,
    post_with_retry,
    window_open,
)
from adapters.whatsapp.phone import e164_list, to_e164
from adapters.whatsapp.signatures import twilio_valid
from adapters.whatsapp.twilio_decode import WINDOW_CLOSED, status_error, to_inbound
from core.events import Attachment, Inbound, Outbound
from core.ids import PlatformMessageId
from core.media import Fetched, MediaUnavailable
from core.reply import DeliveryError, Reply
from core.settings import ConfigError

BODY_LIMIT = LIMITS["twilio"]
MAX_WEBHOOK_BYTES = 64 * 1024
MAX_MEDIA_BYTES = 20 * 2**20
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


class TwilioConfig(ChannelConfig):
    account_sid: EnvSecret = Field(alias="account_sid_env")
    auth_token: EnvSecret = Field(alias="auth_token_env")
    shared_key: EnvSecret | None = Field(None, alias="shared_key_env")  # HMAC-SHA256 mode
    from_number: str = Field(description="the WhatsApp sender, E.164 (+14155238886)")
    owners: list[str] = Field(default_factory=list)
    allowed_numbers: list[str] = Field(default_factory=list)
    api_base_url: str = "https://api.twilio.com"
    public_url: str | None = Field(None, description="the full webhook URL Twilio calls")
    status_callbacks: bool = True
    reminder_template_sid: str | None = Field(
        None, pattern=r"^HX[0-9a-fA-F]{32}$",
        description="approved Content template (one variable, {{1}}) for reminders outside "
                    "the 24-hour window; without one the owner is told instead")

    @field_validator("from_number")
    @classmethod
    def _number(cls, value: str) -> str:
        return e164_list([value])[0]

    @field_validator("owners", "allowed_numbers")
    @classmethod
    def _numbers(cls, value: list[str]) -> list[str]:
        return list(e164_list(value))

    @field_validator("api_base_url", "public_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value


class TwilioWhatsApp:
    def __init__(self, ctx: ChannelContext, config: TwilioConfig,
                 client: httpx.AsyncClient | None = None) -> None:
        self.ctx = ctx
        self.config = config
        self.policy = Policy(tuple(config.owners), tuple(config.allowed_numbers))
        self.public_url = webhook_url(ctx, config)
        self._sid = config.account_sid.get_secret_value()
        self._token = config.auth_token.get_secret_value()
        self._key = config.shared_key.get_secret_value() if config.shared_key else None
        self._own_client = client is None
        self.client = client or httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0))
        self._window = WindowWatch(f"{ctx.bot.name}/{ctx.channel}", "twilio", config.owners,
                                   self.send_text)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self._window.aclose()
        if self._own_client:
            await self.client.aclose()

    # -- webhook ---------------------------------------------------------------------------

    async def handle_webhook(self, request: Request) -> Response:
        if request.method != "POST":
            return PlainTextResponse("POST only", status_code=405)
        body = await request.body()
        if len(body) > MAX_WEBHOOK_BYTES:
            return PlainTextResponse("too large", status_code=413)
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if not twilio_valid(self._token, self.public_url, form,
                            request.headers.get("x-twilio-signature"),
                            request.headers.get("x-twilio-webhooks-signature-settings"),
                            self._key):
            log.warning("whatsapp_bad_signature", bot=self.ctx.bot.name, provider="twilio")
            return PlainTextResponse("invalid signature", status_code=403)
        if status_error(form) == WINDOW_CLOSED:
            self._window.closed(to_e164(form.get("To", "")) or "unknown", WINDOW_CLOSED)
        inbound = to_inbound(self.ctx.bot.name, form, self.policy)
        if inbound is not None:
            try:
                await self.ctx.submit(inbound)
            except RuntimeError:
                return PlainTextResponse("shutting down", status_code=503)
        return Response(TWIML, media_type="application/xml")

    # -- replies ---------------------------------------------------------------------------

    async def deliver(self, inbound: Inbound, reply: Reply) -> Outbound:
        # WhatsApp: send once, when complete; it renders no Markdown links
        text = plain_links(await reply.drain())
        number = inbound.conversation.chat_id
        if text and not reply.shown and not await window_open(self.ctx.store, inbound):
            return reply.outbound((await self._outside_window(number, text),))
        ids = list(reply.shown)  # pieces a failed delivery already sent are not sent again
        for piece in split_text(text.strip(), BODY_LIMIT)[len(ids):]:
            ids.append(await self._send(number, piece))
            await reply.sent(ids)
        return reply.outbound(tuple(ids))

    async def _outside_window(self, number: str, text: str) -> PlatformMessageId:
        """A reminder for someone who has not written for 24 h: template, else tell the owner."""
        template = self.config.reminder_template_sid
        if template is None:
            self._window.closed(number, "no_template", what=f"a reminder ({text[:200]})")
            raise DeliveryError("outside the 24-hour window, no reminder template",
                                permanent=True)
        variables = json.dumps({"1": text[:1000]}, ensure_ascii=False)
        return await self._send(number, "", content=(template, variables))

    async def send_text(self, number: str, body: str, *, notify: bool = True) -> bool:
        try:
            await self._send(number, body, notify=notify)
        except DeliveryError:
            return False
        return True

    async def _send(self, number: str, body: str, *, notify: bool = True,
                    content: tuple[str, str] | None = None) -> PlatformMessageId:
        """The message sid; DeliveryError when Twilio did not take it. ``content``: a
        template (ContentSid, ContentVariables JSON) instead of a free-form body."""
        url = f"{self.config.api_base_url}/2010-04-01/Accounts/{self._sid}/Messages.json"
        data = {"To": f"whatsapp:{number}", "From": f"whatsapp:{self.config.from_number}"}
        if content is None:
            data["Body"] = body
        else:
            data["ContentSid"], data["ContentVariables"] = content
        if self.config.status_callbacks:
            data["StatusCallback"] = self.public_url
        try:
            response = await post_with_retry(
                lambda: self.client.post(url, data=data, auth=(self._sid, self._token)),
                "twilio_message")
        except (PlatformError, httpx.TransportError) as err:
            log.error("whatsapp_send_failed", provider="twilio", to=number,
                      error=str(err) or type(err).__name__)
            raise DeliveryError(f"twilio: {str(err) or type(err).__name__}") from err
        if response.status_code in (200, 201):
            sid = response.json().get("sid")
            return PlatformMessageId(str(sid) if sid else "")
        code = error_code(response, "code")
        if code == WINDOW_CLOSED:
            self._window.closed(number, code, notify=notify)
        else:
            log.error("whatsapp_send_failed", provider="twilio", to=number, code=code,
                      status=response.status_code)
        raise DeliveryError(f"twilio refused the message ({response.status_code} {code})",
                            permanent=True)

    async def fetch_media(self, attachment: Attachment, limit: int) -> Fetched:
        """Download a ``MediaUrlN`` with the account credentials (only from the API host).

        Twilio's webhook states no size: the download stops at ``limit`` bytes."""
        if not attachment.ref.startswith(self.config.api_base_url + "/"):
            raise MediaUnavailable("media URL is not on the configured Twilio API host")
        fetched = await download_capped(
            self.client, attachment.ref, min(limit, MAX_MEDIA_BYTES), "twilio_media",
            auth=(self._sid, self._token), follow_redirects=True)
        return Fetched(fetched.data, fetched.mime_type or attachment.mime_type)


def webhook_url(ctx: ChannelContext, config: TwilioConfig) -> str:
    """The URL Twilio signs: configured, or the gateway's public URL + the hook path."""
    if config.public_url:
        return config.public_url
    base = ctx.settings.gateway.public_url
    if not base:
        raise ConfigError(
            f"bot {ctx.bot.name}: channels.whatsapp: set public_url (or KITH_GATEWAY__PUBLIC_URL)"
            " — Twilio signatures are checked against the URL Twilio calls")
    return f"{base.rstrip('/')}/hooks/{ctx.bot.name}/{ctx.channel}"


def build(ctx: ChannelContext, config: TwilioConfig) -> TwilioWhatsApp:
    return TwilioWhatsApp(ctx, config)


SPEC = ChannelSpec(config=TwilioConfig, build=build)
