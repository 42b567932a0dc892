"""Attachments from the homeserver: downloaded within a size limit, and decrypted when they
came from an encrypted room (AES-CTR, key and SHA-256 from the event: nio checks both)."""

from __future__ import annotations

import json
from typing import Any

from nio import AsyncClient
from nio.crypto.attachments import decrypt_attachment
from nio.exceptions import EncryptionError

from core.events import Attachment
from core.media import Fetched, MediaTooLarge, MediaUnavailable


async def fetch(client: AsyncClient, attachment: Attachment, limit: int) -> Fetched:
    encrypted = attachment.ref.startswith("enc:")
    info: dict[str, Any] = json.loads(attachment.ref[4:]) if encrypted else {}
    resp = await client.download(mxc=info["url"] if encrypted else attachment.ref)
    body = getattr(resp, "body", None)
    if not isinstance(body, bytes):
        raise MediaUnavailable(f"matrix download failed: {type(resp).__name__}")
    if len(body) > limit:
        raise MediaTooLarge(len(body), limit)
    if encrypted:
        try:
            body = bytes(decrypt_attachment(body, info["key"]["k"], info["hashes"]["sha256"],
                                            info["iv"]))
        except (EncryptionError, KeyError, ValueError) as err:
            raise MediaUnavailable(f"matrix attachment did not decrypt: {err}") from None
    mime = attachment.mime_type or getattr(resp, "content_type", "") or ""
    return Fetched(body, mime)
