"""Secrets Kith keeps for people (a linked calendar's password), sealed with AES-GCM.

The key is ``KITH_SECRET_KEY`` (32 bytes, URL-safe base64) when set — replicas share it —
else the key file ``secret.key`` beside the data, created 0600 the first time a secret is
sealed. A key file that anyone but its owner may read is refused, in one line. Each sealed
value is bound to what it is for (``purpose``, e.g. ``calendar:<person>``, as associated
data): a value copied into another person's row does not open. Plain secrets are never
logged; errors never carry them.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE = "secret.key"
NONCE = 12


class VaultError(Exception):
    """A sealed value cannot be opened (another key, or not for this purpose)."""


class KeyProblem(Exception):
    """The key is unusable; the message is one line naming what to fix."""


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode() + b"=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise KeyProblem(f"{where}: must be 32 random bytes in URL-safe base64 (make one with "
                        "python3 -c \"import base64,os;print(base64.urlsafe_b64encode("
                        "os.urandom(32)).decode())\")")
    return key


def check_key_file(path: Path) -> None:
    """Refuse a key file its owner does not keep private (group or others may read it)."""
    if not path.exists():
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyProblem(f"{path}: permissions {mode:04o} are too open for Kith's secret key "
                        f"(chmod 600 {path})")


class Vault:
    """Seal and open people's secrets. ``key``: from ``KITH_SECRET_KEY``; otherwise the key
    file at ``path`` (checked now, created on first use)."""

    def __init__(self, key: str | None, path: Path) -> None:
        self._path = path
        self._key = _decode(key, "KITH_SECRET_KEY") if key is not None else None
        if self._key is None:
            check_key_file(path)

    def _cipher(self) -> AESGCM:
        # here, not at the top: only a linked calendar's password pays for importing it
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if self._key is None:
            self._key = self._load_or_create()
        return AESGCM(self._key)

    def _load_or_create(self) -> bytes:
        path = self._path
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # made by another process just now: use it
                pass
            else:
                with os.fdopen(fd, "w") as out:
                    out.write(base64.urlsafe_b64encode(os.urandom(32)).decode() + "\n")
        check_key_file(path)
        return _decode(path.read_text(), str(path))

    def seal(self, secret: str, purpose: str) -> bytes:
        nonce = os.urandom(NONCE)
        return nonce + self._cipher().encrypt(nonce, secret.encode(), purpose.encode())

    def open(self, sealed: bytes, purpose: str) -> str:
        from cryptography.exceptions import InvalidTag

        try:
            plain = self._cipher().decrypt(sealed[:NONCE], sealed[NONCE:], purpose.encode())
        except (InvalidTag, ValueError):
            raise VaultError("the sealed secret does not open with this key") from None
        return plain.decode()
