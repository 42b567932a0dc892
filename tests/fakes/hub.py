"""A fake Hugging Face hub on loopback: serves files the way ``/resolve/`` does.

``HEAD /<repo>/resolve/<revision>/<file>`` answers ``302`` to a "CDN" URL on another host name
(``localhost`` instead of ``127.0.0.1``, as the real hub redirects to its storage host) with
``X-Repo-Commit``, ``X-Linked-Etag`` (the file's sha256) and ``X-Linked-Size``; ``GET`` on
the CDN URL serves the bytes and honours ``Range: bytes=N-`` with ``206``. Faults: cut the
connection after N bytes, refuse later requests with 503, serve corrupted bytes.
A real ``huggingface_hub`` client talks to it with ``HF_ENDPOINT`` pointed here.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class HubFile:
    repo: str
    filename: str
    revision: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class FakeHub:
    files: list[HubFile]
    cut_after: int | None = None  # the next GET stops after this many bytes, then drops
    refuse: bool = False  # every request answers 503 (the hub is down)
    refuse_after_cut: bool = False  # the cut also takes the hub down (set refuse)
    corrupt: bool = False  # serve the bytes with one flipped
    chunk: int = 64 * 1024
    pace: float = 0.0  # seconds between chunks: a slow line, to watch progress
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    sent_bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def find(self, path: str) -> HubFile | None:
        for f in self.files:
            if path == f"/{f.repo}/resolve/{f.revision}/{f.filename}":
                return f
        return None

    @property
    def gets(self) -> list[tuple[str, str, str | None]]:
        return [r for r in self.requests if r[0] == "GET"]


def _handler(hub: FakeHub, port_box: list[int]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return None

        def _record(self) -> bool:
            with hub.lock:
                hub.requests.append((self.command, self.path, self.headers.get("Range")))
            if hub.refuse:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return False
            return True

        def do_HEAD(self) -> None:
            if not self._record():
                return
            f = hub.find(self.path)
            if f is None:
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{port_box[0]}/cdn/{f.sha256}")
            self.send_header("X-Repo-Commit", f.revision)
            self.send_header("ETag", '"abc-git-blob"')
            self.send_header("X-Linked-Etag", f'"{f.sha256}"')
            self.send_header("X-Linked-Size", str(len(f.data)))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            if not self._record():
                return
            sha = self.path.removeprefix("/cdn/")
            f = next((f for f in hub.files if f.sha256 == sha), None)
            if f is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = bytearray(f.data)
            if hub.corrupt:
                data[len(data) // 2] ^= 0xFF
            start = 0
            match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
            if match:
                start = int(match.group(1))
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(data) - start))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            cut, hub.cut_after = hub.cut_after, None
            pos = start
            while pos < len(data):
                end = min(pos + hub.chunk, len(data))
                if cut is not None and end - start > cut:
                    end = start + cut
                    self.wfile.write(data[pos:end])
                    hub.sent_bytes += end - pos
                    self.wfile.flush()
                    self.close_connection = True
                    hub.refuse = hub.refuse or hub.refuse_after_cut
                    self.connection.shutdown(2)
                    return
                self.wfile.write(data[pos:end])
                hub.sent_bytes += end - pos
                pos = end
                if hub.pace:
                    time.sleep(hub.pace)

    return Handler


@contextmanager
def running_hub(hub: FakeHub) -> Iterator[str]:
    """Serve ``hub`` on 127.0.0.1:<free port> in a thread; yields the endpoint URL."""
    port_box = [0]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub, port_box))
    server.daemon_threads = True
    port_box[0] = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="fake-hub")
    thread.start()
    try:
        yield f"http://127.0.0.1:{port_box[0]}"
    finally:
        server.shutdown()
        server.server_close()
