"""Download a catalog model with huggingface_hub: pinned revision, sha256, resumable.

The file grows at ``<models>/<file>.part`` and survives an interruption: the next pull asks
the hub for the rest (an HTTP Range request through huggingface_hub's own downloader, which
also resumes by itself when a connection drops mid-way). Only a file whose sha256 matches the
pin is moved into place; a mismatch deletes it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.local.catalog import LocalModel, ModelSpec

Report = Callable[[int, int | None], None]  # (bytes on disk, total bytes)


class PullError(Exception):
    """The model could not be fetched or verified; the message is one line to act on."""


@dataclass(frozen=True, slots=True)
class Status:
    """What the local model is doing, for the terminal and the web page (``/api/model``)."""

    state: str  # "downloading" | "verifying" | "loading" | "ready" | "failed"
    model: str
    done_bytes: int = 0
    total_bytes: int | None = None
    error: str | None = None
    queued: int = 0

    def as_dict(self) -> dict[str, Any]:
        percent = (round(100 * self.done_bytes / self.total_bytes, 1)
                   if self.total_bytes else None)
        return {"state": self.state, "model": self.model, "done_bytes": self.done_bytes,
                "total_bytes": self.total_bytes, "percent": percent, "error": self.error,
                "queued": self.queued}

    def line(self) -> str:
        if self.state == "downloading" and self.total_bytes:
            return (f"downloading {self.model}: {self.done_bytes / 1e6:.0f} of "
                    f"{self.total_bytes / 1e6:.0f} MB ({self.as_dict()['percent']} %)")
        if self.state == "failed":
            return f"{self.model}: {self.error}"
        return f"{self.model}: {self.state}"


class StatusBoard:
    """A thread-safe holder of the current :class:`Status` (written by the worker thread)."""

    def __init__(self, model: str, state: str = "loading") -> None:
        self._lock = threading.Lock()
        self._status = Status(state=state, model=model)

    def get(self) -> Status:
        with self._lock:
            return self._status

    def set(self, **changes: Any) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def where_to_put(local: LocalModel) -> str:
    return (f"put {local.path.name} at {local.path}, or set KITH_LLM__LOCAL_MODEL "
            "to the path of any GGUF file")


def _progress_class(report: Report, show: bool) -> type:
    from tqdm.auto import tqdm

    class Progress(tqdm):  # type: ignore[misc]  # tqdm is untyped
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.pop("name", None)
            kwargs.setdefault("mininterval", 0.5)
            super().__init__(*args, disable=not show, **kwargs)
            self.done = int(kwargs.get("initial") or 0)  # tqdm stops counting when disabled
            report(self.done, self.total)

        def update(self, n: float | None = 1) -> bool | None:
            shown: bool | None = super().update(n)
            self.done += int(n or 0)
            report(self.done, self.total)
            return shown

    return Progress


def pull(local: LocalModel, *, report: Report | None = None, show: bool = True,
         board: StatusBoard | None = None, endpoint: str | None = None) -> Path:
    """Fetch ``local`` (a catalog model) unless present; returns its verified path."""
    if local.present:
        return local.path
    spec = local.spec
    if spec is None:
        raise PullError(f"{local.path} does not exist: {where_to_put(local)}")

    def on_progress(done: int, total: int | None) -> None:
        if board is not None:
            board.set(state="downloading", done_bytes=done, total_bytes=total)
        if report is not None:
            report(done, total)

    part = local.path.with_name(local.path.name + ".part")
    try:
        local.path.parent.mkdir(parents=True, exist_ok=True)
        _download(spec, part, _progress_class(on_progress, show), endpoint)
    except PullError:
        raise
    except Exception as exc:
        raise PullError(f"cannot download {spec.filename} from the Hugging Face hub "
                        f"({_why(exc)}): {where_to_put(local)}") from exc
    if board is not None:
        board.set(state="verifying")
    actual = sha256_of(part)
    if actual != spec.sha256:
        part.unlink(missing_ok=True)
        raise PullError(f"{spec.filename}: sha256 {actual[:12]}… is not the pinned "
                        f"{spec.sha256[:12]}…; the download was deleted, try again")
    part.replace(local.path)
    return local.path


def _download(spec: ModelSpec, part: Path, progress: type, endpoint: str | None) -> None:
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

    url = hf_hub_url(spec.repo, spec.filename, revision=spec.revision, endpoint=endpoint)
    meta = get_hf_file_metadata(url, endpoint=endpoint)
    expected = meta.size or spec.size
    have = part.stat().st_size if part.exists() else 0
    if expected is not None and have > expected:
        part.unlink()
        have = 0
    with part.open("ab") as f:
        http_get(meta.location, f, resume_size=have, headers=build_hf_headers(),
                 expected_size=expected, displayed_filename=spec.filename,
                 tqdm_class=progress)


def _why(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).splitlines()[0] if str(exc) else ""
    if "Connect" in name or "Timeout" in name or "offline" in text.lower():
        return "no connection"
    return f"{name}: {text}"[:160]
