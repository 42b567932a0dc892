"""A real Synapse homeserver on 127.0.0.1 for tests and benchmarks: offline, SQLite, fast.

``running_synapse(tmp)`` generates a config (federation, key servers and stats off, rate
limits raised, cheap password hashing), starts ``synapse.app.homeserver`` as a subprocess,
waits for ``/health`` and yields a :class:`Synapse` handle that registers users through the
shared-secret admin API.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

SERVER_NAME = "localhost"
HIGH = {"per_second": 10_000, "burst_count": 100_000}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(directory: Path, port: int) -> Path:
    path = directory / "homeserver.yaml"
    subprocess.run(
        [sys.executable, "-m", "synapse.app.homeserver", "--server-name", SERVER_NAME,
         "--config-path", str(path), "--generate-config", "--report-stats=no",
         "--data-directory", str(directory)],
        check=True, capture_output=True, cwd=directory, timeout=60,
    )
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    log_config = directory / "log.yaml"
    log_config.write_text(yaml.safe_dump({
        "version": 1,
        "formatters": {"f": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
        "handlers": {"file": {"class": "logging.FileHandler", "formatter": "f",
                              "filename": str(directory / "homeserver.log")}},
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }))
    config.update({
        "listeners": [{"port": port, "bind_addresses": ["127.0.0.1"], "type": "http",
                       "tls": False, "x_forwarded": False,
                       "resources": [{"names": ["client"], "compress": False}]}],
        "database": {"name": "sqlite3", "args": {"database": str(directory / "hs.db")}},
        "media_store_path": str(directory / "media"),
        "log_config": str(log_config),
        "pid_file": str(directory / "hs.pid"),
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "report_stats": False,
        "enable_metrics": False,
        "bcrypt_rounds": 4,
        "enable_registration": False,
        "url_preview_enabled": False,
        "presence": {"enabled": False},
        "rc_message": HIGH, "rc_registration": HIGH, "rc_login": {
            "address": HIGH, "account": HIGH, "failed_attempts": HIGH},
        "rc_joins": {"local": HIGH, "remote": HIGH}, "rc_invites": {
            "per_room": HIGH, "per_user": HIGH, "per_issuer": HIGH},
        "rc_admin_redaction": HIGH, "rc_3pid_validation": HIGH,
        "rc_key_requests": HIGH, "rc_joins_per_room": HIGH,
        "rc_presence": {"per_user": HIGH},
        "rc_delayed_event_mgmt": HIGH,
        "rc_room_creation": HIGH,
        "rc_reports": HIGH,
    })
    path.write_text(yaml.safe_dump(config))
    return path


@dataclass
class Synapse:
    url: str
    secret: str
    admin_token: str = ""

    def register(self, localpart: str, password: str, admin: bool = False) -> str:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            nonce = http.get("/_synapse/admin/v1/register").json()["nonce"]
            mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
            mac.update(b"\x00".join([nonce.encode(), localpart.encode(), password.encode(),
                                     b"admin" if admin else b"notadmin"]))
            response = http.post("/_synapse/admin/v1/register", json={
                "nonce": nonce, "username": localpart, "password": password,
                "admin": admin, "mac": mac.hexdigest()})
            response.raise_for_status()
            body = response.json()
        if admin and not self.admin_token:
            self.admin_token = body["access_token"]
        return str(body["user_id"])

    def login(self, user_id: str, password: str) -> str:
        """A fresh access token (and device) for ``user_id``."""
        with httpx.Client(base_url=self.url, timeout=30) as http:
            response = http.post("/_matrix/client/v3/login", json={
                "type": "m.login.password", "password": password,
                "identifier": {"type": "m.id.user", "user": user_id}})
            response.raise_for_status()
            return str(response.json()["access_token"])

    def limit_messages(self, user_id: str, per_second: float, burst: int) -> None:
        """A per-user message rate limit (admin API); 0/0 removes the limit."""
        with httpx.Client(base_url=self.url, timeout=30) as http:
            response = http.post(
                f"/_synapse/admin/v1/users/{user_id}/override_ratelimit",
                headers={"authorization": f"Bearer {self.admin_token}"},
                json={"messages_per_second": per_second, "burst_count": burst})
            response.raise_for_status()


@contextmanager
def running_synapse(directory: Path, startup_timeout: float = 60.0) -> Iterator[Synapse]:
    directory.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    config_path = write_config(directory, port)
    secret = str(yaml.safe_load(config_path.read_text())["registration_shared_secret"])
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    out = open(directory / "stdout.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "synapse.app.homeserver", "--config-path", str(config_path)],
        cwd=directory, stdout=out, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError("synapse exited: "
                                   + (directory / "stdout.log").read_text()[-2000:])
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("synapse did not become healthy")
            time.sleep(0.1)
        synapse = Synapse(url=url, secret=secret)
        synapse.register("admin", "admin-password", admin=True)
        yield synapse
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()
