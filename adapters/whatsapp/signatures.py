"""Webhook signatures: Twilio's ``X-Twilio-Signature`` and Meta's ``X-Hub-Signature-256``.

Both are pure functions of what arrived and the configured secret. The Twilio signature
covers the URL Twilio called, so it is checked against the configured *public* URL, never
a URL rebuilt from ``Host`` or ``X-Forwarded-*`` headers a client controls.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from twilio.request_validator import (
    HMAC_SHA1,
    RequestValidator,
    get_signature_algorithm,
)


def twilio_valid(
    auth_token: str,
    url: str,
    params: Mapping[str, str],
    signature: str | None,
    settings_header: str | None = None,
    shared_key: str | None = None,
) -> bool:
    """HMAC-SHA1 with the Auth Token, or the algorithm named by
    ``X-Twilio-Webhooks-Signature-Settings`` with the SharedKey secret when one is set."""
    if not signature:
        return False
    algorithm = get_signature_algorithm(settings_header)
    secret = shared_key if settings_header and shared_key else auth_token
    if algorithm != HMAC_SHA1 and not (settings_header and shared_key):
        return False  # a SharedKey-signed webhook but no SharedKey configured
    try:
        return bool(RequestValidator(secret).validate(url, dict(params), signature,
                                                      algorithm=algorithm))
    except (ValueError, TypeError):
        return False


def hub_signature(app_secret: str, body: bytes) -> str:
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def hub_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256``: HMAC-SHA256 of the raw body bytes, as received."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hub_signature(app_secret, body)
    return hmac.compare_digest(expected.encode(), header.strip().encode("ascii", "replace"))
