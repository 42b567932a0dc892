"""The HTTP gateway: health, readiness, metrics, webhooks and the web chat."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.base import RoutedChannel, WebhookChannel
from bots.guard import Guard, is_authorized
from bots.runtime import Kith
from core.llm import Probe


class Readiness:
    """Caches the LLM probe a few seconds so /readyz stays cheap under scraping."""

    def __init__(self, kith: Kith, ttl: float = 5.0) -> None:
        self.kith = kith
        self.ttl = ttl
        self._at = 0.0
        self._llm: dict[str, Probe] = {}

    async def check(self) -> tuple[bool, dict[str, object]]:
        store_ok = await self.kith.store.healthy()
        probe = getattr(self.kith.model, "probe", None)
        if probe is not None and time.monotonic() - self._at > self.ttl:
            self._llm = await probe()
            self._at = time.monotonic()
        llm_ok = probe is None or any(p.ok for p in self._llm.values())
        detail = {"store": store_ok,
                  "llm": {k: p.error or "ok" for k, p in self._llm.items()},
                  "channels": self.kith.channel_status()}
        return store_ok and llm_ok, detail


def public_urls(kith: Kith) -> list[str]:
    """The public URLs the bots' channels name (webhooks reached through a tunnel)."""
    found = [getattr(c, "public_url", None) for b in kith.fleet for c in b.channels.values()]
    return [u for u in found if isinstance(u, str) and u]


def build_app(kith: Kith, *, manage_lifecycle: bool = True) -> Starlette:
    readiness = Readiness(kith)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    gateway = kith.settings.gateway

    def private(request: Request) -> bool:
        """Details are for whoever holds the token (or is local, when none is needed)."""
        return is_authorized(request.scope)

    async def readyz(request: Request) -> Response:
        ready, detail = await readiness.check()
        shown = {"ready": ready, **detail} if private(request) else {"ready": ready}
        return JSONResponse(shown, status_code=200 if ready else 503)

    async def model_status(request: Request) -> Response:
        """What the model is doing, for the page's status line (e.g. while it downloads)."""
        status = getattr(kith.model, "status", None)
        if status is None:
            return JSONResponse({"state": "remote", "model": kith.settings.llm.model})
        return JSONResponse(status().as_dict())

    async def metrics(request: Request) -> Response:
        if not private(request):
            return JSONResponse({"error": "a valid token is required"}, status_code=401)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def hook(request: Request) -> Response:
        key = (request.path_params["bot"], request.path_params["channel"])
        channel = kith.channels.get(key)
        if not isinstance(channel, WebhookChannel):
            return JSONResponse({"error": "no such webhook"}, status_code=404)
        if not kith.takes_input(*key):  # starting, retrying or shutting down: try again
            return JSONResponse({"error": "not taking messages now"}, status_code=503,
                                headers={"Retry-After": "5"})
        return await channel.handle_webhook(request)

    async def index(request: Request) -> Response:
        for (bot, name), _ in kith.channels.items():
            if name == "web":
                return RedirectResponse(f"/chat/{bot}", status_code=307)
        return PlainTextResponse("Kith is running. No web chat is enabled.")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_lifecycle:
            await kith.start()
        for channel in kith.channels.values():
            if isinstance(channel, RoutedChannel) and kith.settings.gateway.webchat:
                app.router.routes.extend(channel.routes())
        try:
            yield
        finally:
            if manage_lifecycle:
                await kith.stop()

    routes: list[BaseRoute] = [
        Route("/", index),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/api/model", model_status),
        Route("/hooks/{bot}/{channel}", hook, methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(Guard, settings=gateway, public_urls=public_urls(kith))
    return app
