"""The streamed chat request, sent on the SDK's own HTTP client without its per-request
machinery.

``AsyncOpenAI.post`` builds an options model, copies it twice, merges headers and URLs and
wraps the stream in a generic decoder: 1.4 ms of CPU per streamed reply, a fifth of all Kith
spends on a message (py-spy, ``bench.foundation``). Here the request goes through the same
``httpx2`` client over aiohttp (``openai.DefaultAioHttpClient``) with the client's own
headers, computed once; its failures become the SDK's exceptions exactly as
``AsyncOpenAI.request`` makes them (a status error from the SDK's own constructor, a
timeout ``APITimeoutError``, any other transport error ``APIConnectionError``, the cause
chained), and the events are read with the SDK's SSE decoder. ``core/llm/faults.py``
classifies the same errors as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, cast

import orjson

if TYPE_CHECKING:
    import httpx2
    import openai

DRAIN_SECONDS = 0.1  # the SDK's own bound


def request_headers(client: openai.AsyncOpenAI) -> dict[str, str]:
    """What the SDK sends with every request (its defaults, then its auth), once."""
    import openai

    merged = {**client.default_headers, **client.auth_headers}
    return {k: v for k, v in merged.items() if not isinstance(v, openai.Omit)}


async def open_stream(client: openai.AsyncOpenAI, http: httpx2.AsyncClient, url: str,
                      headers: Mapping[str, str], body: bytes) -> httpx2.Response:
    """POST ``body`` to ``url``; the response with its body still to be read (2xx only)."""
    import openai
    from openai._httpx2 import request_exceptions, timeout_exceptions

    request = http.build_request("POST", url, content=body, headers=headers)
    try:
        response = await http.send(request, stream=True)
    except timeout_exceptions() as err:
        raise openai.APITimeoutError(request=request) from err
    except openai.OpenAIError:
        raise
    except request_exceptions() as err:
        raise openai.APIConnectionError(request=request) from err
    if response.status_code >= 400:
        try:
            await response.aread()
        finally:
            await response.aclose()
        raise client._make_status_error_from_response(response) from None
    return response


async def events(response: httpx2.Response) -> AsyncIterator[Any]:
    """The JSON of each server-sent event up to ``[DONE]``; an event that carries an
    ``error`` raises ``openai.APIError``, a broken transport ``APITimeoutError`` or
    ``APIConnectionError`` (as the SDK's ``AsyncStream``). The response is closed after."""
    import openai
    from openai._httpx2 import request_exceptions, timeout_exceptions
    from openai._streaming import SSEDecoder

    found = cast(AsyncGenerator[Any, None],
                 SSEDecoder().aiter_bytes(response.aiter_bytes()))
    try:
        try:
            async for sse in found:
                if sse.data.startswith("[DONE]"):
                    if response.http_version == "HTTP/1.1":
                        await _drain(found)
                    break
                data = orjson.loads(sse.data)
                if isinstance(data, dict) and data.get("error"):
                    error = data["error"]
                    message = error.get("message") if isinstance(error, dict) else None
                    raise openai.APIError(
                        message if isinstance(message, str) and message
                        else "An error occurred during streaming",
                        request=response.request, body=error)
                yield data
        except timeout_exceptions() as err:
            raise openai.APITimeoutError(request=response.request) from err
        except request_exceptions() as err:
            raise openai.APIConnectionError(request=response.request) from err
    finally:
        await found.aclose()
        await response.aclose()


async def _drain(rest: AsyncIterator[object]) -> None:
    """What follows ``[DONE]`` (the end of the chunked body) is read, so the connection goes
    back to the pool instead of being closed; at most :data:`DRAIN_SECONDS`, and nothing
    that goes wrong here fails a reply that is complete (as the SDK's own drain)."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in rest:
                pass
