"""WhatsApp Cloud API (Meta Graph, direct): verify handshake, signed JSON webhooks, REST replies.

``GET`` answers the subscription handshake; ``POST`` is checked against
``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app secret) before anything is
parsed, submitted durably, and acknowledged with 200. Replies are sent when complete through
``/{version}/{phone_number_id}/messages`` (split at 4096 characters), after marking the
message read.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import replace
from typing import Any

import httpx
from pydantic import Field, field_validator
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from adapters.base import ChannelConfig, ChannelContext, ChannelSpec, EnvSecret
from adapters.kit import LIMITS, PlatformError, split_text
from adapters.kit.links import plain_links
from adapters.whatsapp.cloud_controls import buttons, decision_of
from adapters.whatsapp.cloud_decode import WINDOW_CLOSED, to_inbounds, window_errors
from adapters.whatsapp.common import (
    Policy,
    WindowWatch,
    download_capped,
    error_code,
    log,
    post_with_retry,
    window_open,
)
from adapters.whatsapp.phone import e164_list
from adapters.whatsapp.signatures import hub_valid
from core.events import Attachment, Inbound, Outbound
from core.ids import PlatformMessageId
from core.media import Fetched, MediaTooLarge, MediaUnavailable
from core.reply import DeliveryError, Reply

BODY_LIMIT = LIMITS["cloud"]
MAX_WEBHOOK_BYTES = 1024 * 1024
MAX_MEDIA_BYTES = 100 * 2**20
_VERSION = re.compile(r"^v\d+\.\d+$")


class CloudConfig(ChannelConfig):
    access_token: EnvSecret = Field(alias="access_token_env")
    app_secret: EnvSecret = Field(alias="app_secret_env")
    verify_token: EnvSecret = Field(alias="verify_token_env")
    phone_number_id: str = Field(pattern=r"^\d{5,20}$")
    owners: list[str] = Field(default_factory=list)
    allowed_numbers: list[str] = Field(default_factory=list)
    api_base_url: str = "https://graph.facebook.com"
    api_version: str = "v21.0"
    mark_read: bool = True
    reminder_template: str | None = Field(
        None, pattern=r"^[a-z0-9_]{1,512}$",
        description="approved template (one body parameter) for reminders outside the "
                    "24-hour window; without one the owner is told instead")
    reminder_template_language: str = Field("en", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")

    @field_validator("owners", "allowed_numbers")
    @classmethod
    def _numbers(cls, value: list[str]) -> list[str]:
        return list(e164_list(value))

    @field_validator("api_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError("must look like v21.0")
        return value


class CloudWhatsApp:
    def __init__(self, ctx: ChannelContext, config: CloudConfig,
                 client: httpx.AsyncClient | None = None) -> None:
        self.ctx = ctx
        self.config = config
        self.policy = Policy(tuple(config.owners), tuple(config.allowed_numbers))
        self._secret = config.app_secret.get_secret_value()
        self._verify = config.verify_token.get_secret_value()
        token = config.access_token.get_secret_value()
        self._own_client = client is None
        self.client = client or httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0))
        self._auth = {"authorization": f"Bearer {token}"}
        self.messages_url = (f"{config.api_base_url}/{config.api_version}/"
                             f"{config.phone_number_id}/messages")
        self._window = WindowWatch(f"{ctx.bot.name}/{ctx.channel}", "cloud", config.owners,
                                   self.send_text)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self._window.aclose()
        if self._own_client:
            await self.client.aclose()

    # -- webhook ---------------------------------------------------------------------------

    async def handle_webhook(self, request: Request) -> Response:
        if request.method == "GET":
            return self._handshake(request)
        body = await request.body()
        if len(body) > MAX_WEBHOOK_BYTES:
            return PlainTextResponse("too large", status_code=413)
        if not hub_valid(self._secret, body, request.headers.get("x-hub-signature-256")):
            log.warning("whatsapp_bad_signature", bot=self.ctx.bot.name, provider="cloud")
            return PlainTextResponse("invalid signature", status_code=401)
        try:
            payload = json.loads(body)
        except ValueError:
            return PlainTextResponse("body is not JSON", status_code=400)
        for number, code in window_errors(payload):
            self._window.closed(number, code)
        try:
            for inbound in to_inbounds(self.ctx.bot.name, payload, self.policy,
                                       self.config.phone_number_id):
                decision = decision_of(inbound.raw)  # a tap on an approval button
                if decision is not None:
                    inbound = replace(inbound, decision=decision,
                                      text="yes" if decision.approve else "no")
                await self.ctx.submit(inbound)
        except RuntimeError:
            return PlainTextResponse("shutting down", status_code=503)
        return PlainTextResponse("ok")

    def _handshake(self, request: Request) -> Response:
        params = request.query_params
        token = params.get("hub.verify_token", "")
        if params.get("hub.mode") == "subscribe" and hmac.compare_digest(
            token.encode(), self._verify.encode()
        ):
            return PlainTextResponse(params.get("hub.challenge", ""))
        log.warning("whatsapp_bad_verify_token", bot=self.ctx.bot.name)
        return PlainTextResponse("verification failed", status_code=403)

    # -- replies ---------------------------------------------------------------------------

    async def deliver(self, inbound: Inbound, reply: Reply) -> Outbound:
        # a turn Kith starts itself (a reminder) has no platform message to mark read
        wamid = inbound.platform_message_id
        if self.config.mark_read and not reply.shown and wamid is not None:
            await self._mark_read(wamid)
        # WhatsApp: send once, when complete; it renders no Markdown links
        text = plain_links(await reply.drain())
        if text and not reply.shown and not await window_open(self.ctx.store, inbound):
            return reply.outbound((await self._outside_window(inbound.conversation.chat_id,
                                                              text),))
        ids = list(reply.shown)  # pieces a failed delivery already sent are not sent again
        for piece in split_text(text.strip(), BODY_LIMIT)[len(ids):]:
            ids.append(await self._send(inbound.conversation.chat_id, piece))
            await reply.sent(ids)
        if ids:
            await self._offer_controls(inbound)
        return reply.outbound(tuple(ids))

    async def _offer_controls(self, inbound: Inbound) -> None:
        """Yes / No reply buttons under each action this message's turn proposed."""
        for action in await self.ctx.store.actions.made_by(inbound.id):
            body = buttons(inbound.conversation.chat_id, action.id,
                           f"Do this? {action.summary}")
            try:
                response = await self._post(body, "cloud_controls")
            except (PlatformError, httpx.TransportError) as err:
                response = None
                log.warning("whatsapp_controls_not_sent", provider="cloud",
                            error=str(err) or type(err).__name__)
            if response is not None and response.status_code != 200:  # "yes" still works
                log.warning("whatsapp_controls_not_sent", provider="cloud",
                            code=error_code(response, "error", "code"))

    async def _post(self, body: dict[str, Any], what: str) -> httpx.Response:
        return await post_with_retry(
            lambda: self.client.post(self.messages_url, json=body, headers=self._auth), what)

    async def _mark_read(self, wamid: str) -> None:
        try:
            response = await self._post(
                {"messaging_product": "whatsapp", "status": "read", "message_id": wamid},
                "cloud_mark_read")
        except (PlatformError, httpx.TransportError) as err:
            log.warning("whatsapp_mark_read_failed", provider="cloud", error=type(err).__name__)
            return
        if response.status_code != 200:
            log.warning("whatsapp_mark_read_failed", provider="cloud",
                        code=error_code(response, "error", "code"))

    async def _outside_window(self, number: str, text: str) -> PlatformMessageId:
        """A reminder for someone who has not written for 24 h: template, else tell the owner."""
        name = self.config.reminder_template
        if name is None:
            self._window.closed(number, "no_template", what=f"a reminder ({text[:200]})")
            raise DeliveryError("outside the 24-hour window, no reminder template",
                                permanent=True)
        return await self._send(number, "", template={
            "name": name, "language": {"code": self.config.reminder_template_language},
            "components": [{"type": "body",
                            "parameters": [{"type": "text", "text": text[:1000]}]}]})

    async def send_text(self, number: str, body: str, *, notify: bool = True) -> bool:
        try:
            await self._send(number, body, notify=notify)
        except DeliveryError:
            return False
        return True

    async def _send(self, number: str, body: str, *, notify: bool = True,
                    template: dict[str, Any] | None = None) -> PlatformMessageId:
        """The message's wamid; DeliveryError when the Graph API did not take it."""
        content: dict[str, Any] = ({"type": "text", "text": {"preview_url": False, "body": body}}
                                   if template is None else
                                   {"type": "template", "template": template})
        try:
            response = await self._post({
                "messaging_product": "whatsapp", "recipient_type": "individual",
                "to": number.lstrip("+"), **content,
            }, "cloud_message")
        except (PlatformError, httpx.TransportError) as err:
            log.error("whatsapp_send_failed", provider="cloud", to=number,
                      error=str(err) or type(err).__name__)
            raise DeliveryError(f"cloud: {str(err) or type(err).__name__}") from err
        if response.status_code == 200:
            try:
                return PlatformMessageId(str(response.json()["messages"][0]["id"]))
            except (ValueError, LookupError, TypeError):
                return PlatformMessageId("")
        code = error_code(response, "error", "code")
        if code == str(WINDOW_CLOSED):
            self._window.closed(number, WINDOW_CLOSED, notify=notify)
        else:
            log.error("whatsapp_send_failed", provider="cloud", to=number, code=code,
                      status=response.status_code)
        raise DeliveryError(f"the Graph API refused the message ({response.status_code} {code})",
                            permanent=True)

    async def fetch_media(self, attachment: Attachment, limit: int) -> Fetched:
        """Resolve a media id (Graph states its ``file_size``: checked before download),
        then download the short-lived URL with bearer auth, stopping at ``limit``."""
        if not re.fullmatch(r"\d{1,40}", attachment.ref):
            raise MediaUnavailable("not a Graph media id")
        limit = min(limit, MAX_MEDIA_BYTES)
        try:
            meta = await post_with_retry(lambda: self.client.get(
                f"{self.config.api_base_url}/{self.config.api_version}/{attachment.ref}",
                headers=self._auth), "cloud_media")
        except (PlatformError, httpx.TransportError):
            raise MediaUnavailable("Graph did not answer for the media id") from None
        if meta.status_code != 200:
            raise MediaUnavailable("Graph did not resolve the media id")
        info = meta.json()
        url = info.get("url") if isinstance(info, dict) else None
        allowed = ("https://", self.config.api_base_url + "/")
        if not isinstance(url, str) or not url.startswith(allowed):
            raise MediaUnavailable("Graph returned no usable media URL")
        size = info.get("file_size")
        if isinstance(size, int) and size > limit:
            raise MediaTooLarge(size, limit)
        fetched = await download_capped(self.client, url, limit, "cloud_media",
                                        headers=self._auth)
        return Fetched(fetched.data, str(info.get("mime_type") or attachment.mime_type))


def build(ctx: ChannelContext, config: CloudConfig) -> CloudWhatsApp:
    return CloudWhatsApp(ctx, config)


SPEC = ChannelSpec(config=CloudConfig, build=build)
