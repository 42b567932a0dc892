"""The web pages' shell: HTML templates, the static files beside them, one strict CSP.

Everything a page needs is served from ``/chat/<bot>/assets/``: no inline script, no
external font, script or image. The CSP says so, so even markup that slipped past the
sanitiser could neither run a script nor load anything from elsewhere.
"""

from __future__ import annotations

import html
from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
ASSETS = (
    "kith.css", "chat.js", "me.js", "vendor/markdown-it.min.js", "vendor/purify.min.js",
    "vendor/LICENSE-markdown-it.txt", "vendor/LICENSE-dompurify.txt",
)


def _read(name: str) -> str:
    return resources.files("adapters").joinpath(f"static/{name}").read_text("utf-8")


def assets_path(bot: str) -> str:
    return f"/chat/{bot}/assets"


def page(template: str, **values: str) -> HTMLResponse:
    """``static/<template>`` with each ``{{NAME}}`` replaced by its HTML-escaped value."""
    text = _read(template)
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", html.escape(value, quote=True))
    return HTMLResponse(text, headers=_HEADERS)


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ASSETS:
        return PlainTextResponse("not found", status_code=404)
    suffix = name[name.rfind("."):]
    return Response(_read(name), media_type=_TYPES[suffix], headers={
        **_HEADERS, "cache-control": "no-cache",
    })


def asset_routes(bot: str) -> list[Route]:
    return [Route(assets_path(bot) + "/{name:path}", asset, methods=["GET"])]
