"""Real servers for the email tests: a capturing SMTP relay (aiosmtpd), Dovecot, DKIM keys."""

from __future__ import annotations

import base64
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import dkim
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support import free_port

# -- the outbound relay: records every message Kith sends --------------------------------


@dataclass
class Captured:
    sender: str
    recipients: list[str]
    data: bytes
    at: float = field(default_factory=time.perf_counter)

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Relay:
    """An aiosmtpd server on loopback; ``fail_next`` answers that many DATA with 451."""

    port: int = 0
    received: list[Captured] = field(default_factory=list)
    fail_next: int = 0
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._arrived:
            if self.fail_next > 0:
                self.fail_next -= 1
                return "451 4.3.0 try again"
            data = envelope.original_content or b""
            self.received.append(Captured(str(envelope.mail_from), list(envelope.rcpt_tos),
                                          data))
            self._arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 120.0) -> list[Captured]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"relay got {len(self.received)} of {count} mails")
                self._arrived.wait(left)
            return list(self.received)

    def reset(self) -> None:
        with self._arrived:
            self.received.clear()
            self.fail_next = 0


def start_relay() -> tuple[Relay, Controller]:
    relay = Relay()
    controller = Controller(relay, hostname="127.0.0.1", port=free_port(),
                            server_hostname="relay.test")
    controller.start()
    relay.port = controller.port
    return relay, controller


# -- DKIM: a key pair in memory, served by a dnsfunc instead of DNS -----------------------


@dataclass(frozen=True)
class DkimKey:
    private_pem: bytes
    dns_record: bytes
    selector: bytes = b"test"

    def sign(self, raw: bytes, domain: str) -> bytes:
        signature = dkim.sign(raw, self.selector, domain.encode(), self.private_pem,
                              include_headers=[b"from", b"to", b"subject", b"message-id"])
        return signature + raw

@dataclass(frozen=True)
class KeyLookup:
    """A dkimpy ``dnsfunc`` answering ``<selector>._domainkey.<domain>`` from its records.

    A plain value, so it crosses into the worker process that reads mail."""

    records: dict[str, bytes]

    def __call__(self, name: bytes, timeout: int = 5) -> bytes | None:
        return self.records.get(name.decode().rstrip("."))


def dns_for(keys: dict[str, DkimKey]) -> Any:
    return KeyLookup({f"{key.selector.decode()}._domainkey.{domain}": key.dns_record
                      for domain, key in keys.items()})


def make_key() -> DkimKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    return DkimKey(private, record)


# -- Dovecot: its own throwaway instance ---------------------------------------------------


@dataclass
class Dovecot:
    port: int
    root: Path
    process: subprocess.Popen[bytes]
    user: str = "owner"
    password: str = "imap-secret"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)


def _users() -> tuple[str, str, str, str]:
    """(internal user, login user, mail uid, mail gid) that work as root or as anyone."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid()).pw_name
        return me, me, str(os.geteuid()), str(os.getegid())
    login = "dovenull" if _exists("dovenull") else "nobody"
    nobody = pwd.getpwnam("nobody")
    return login, login, str(nobody.pw_uid), str(nobody.pw_gid)


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def start_dovecot() -> Dovecot:
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(binary).exists():
        raise FileNotFoundError("dovecot is not installed (apt-get install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="kith-dovecot-"))
    root.chmod(0o755)  # the unprivileged login process must reach base_dir
    internal, login, uid, gid = _users()
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir()
    os.chown(root / "mail", int(uid), int(gid))
    port = free_port()
    (root / "passwd").write_text("owner:{PLAIN}imap-secret::::::\n")
    config = root / "dovecot.conf"
    config.write_text(textwrap.dedent(f"""\
        base_dir = {root}/run
        state_dir = {root}/state
        log_path = {root}/dovecot.log
        protocols = imap
        listen = 127.0.0.1
        ssl = no
        disable_plaintext_auth = no
        auth_mechanisms = plain login
        default_internal_user = {internal}
        default_login_user = {login}
        first_valid_uid = 0
        mail_location = maildir:{root}/mail/%u
        passdb {{
          driver = passwd-file
          args = scheme=PLAIN username_format=%u {root}/passwd
        }}
        userdb {{
          driver = static
          args = uid={uid} gid={gid} home={root}/mail/%u
        }}
        namespace inbox {{
          inbox = yes
          separator = /
          mailbox Drafts {{
            special_use = \\Drafts
            auto = subscribe
          }}
        }}
        service imap-login {{
          chroot =
          inet_listener imap {{
            address = 127.0.0.1
            port = {port}
          }}
          inet_listener imaps {{
            port = 0
          }}
        }}
        service anvil {{
          chroot =
        }}
        """))
    process = subprocess.Popen([binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    server = Dovecot(port, root, process)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            server.stop()
            raise RuntimeError(f"dovecot exited: {log[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"* OK"):
                    return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError("dovecot did not start in time")


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1: (cert.pem, key.pem)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kith.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass(frozen=True)
class SlowLookup(KeyLookup):
    """Like :class:`KeyLookup`, but names under ``slow`` take ``delay`` seconds to answer
    (a forger's domain whose DNS is slow on purpose)."""

    slow: str = ""
    delay: float = 0.0

    def __call__(self, name: bytes, timeout: int = 5) -> bytes | None:
        if self.slow and name.decode().rstrip(".").endswith(self.slow):
            time.sleep(self.delay)
        return super().__call__(name, timeout)
