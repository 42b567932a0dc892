"""The models Kith knows how to download: each one pinned to a revision and a sha256.

Pinning a new model is one entry in ``CATALOG``. Sources were checked on the hub's file
pages (the Git LFS pointer's SHA256 at the pinned commit).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    repo: str
    filename: str
    revision: str  # a full commit hash: the file can never change under us
    sha256: str
    size: int | None  # bytes, when known (the hub's metadata says it anyway)
    about: str


CATALOG: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="llama-3.2-3b",
        repo="bartowski/Llama-3.2-3B-Instruct-GGUF",
        filename="Llama-3.2-3B-Instruct-Q4_K_M.gguf",
        revision="c346bfc2029e79ba6d7edf026cf01fe44242db0d",
        sha256="6c1a2b41161032677be168d354123594c0e6e67d2b9227c84f296ad037c728ff",
        size=None,  # 2.02 GB
        about="default: Llama 3.2 3B Instruct, Q4_K_M, 2.0 GB, about 3 GB of RAM",
    ),
    ModelSpec(
        name="llama-3.2-1b",
        repo="bartowski/Llama-3.2-1B-Instruct-GGUF",
        filename="Llama-3.2-1B-Instruct-Q4_K_M.gguf",
        revision="d52af3776f99ddf220e5ffd3f93b2a4e4df105be",
        sha256="6f85a640a97cf2bf5b8e764087b1e83da0fdb51d7c9fab7d0fece9385611df83",
        size=807_694_464,
        about="light: Llama 3.2 1B Instruct, Q4_K_M, 0.8 GB, about 1.5 GB of RAM, 3x faster",
    ),
)
DEFAULT = CATALOG[0].name


def by_name(name: str) -> ModelSpec | None:
    return next((spec for spec in CATALOG if spec.name == name.lower()), None)


def models_dir(data_dir: Path) -> Path:
    return data_dir / "models"


@dataclass(frozen=True, slots=True)
class LocalModel:
    """What ``KITH_LLM__LOCAL_MODEL`` names: a catalog entry (maybe not yet on disk) or a file."""

    name: str
    path: Path
    spec: ModelSpec | None  # None: a GGUF file the person brought

    @property
    def present(self) -> bool:
        return self.path.is_file()


class UnknownModel(ValueError):
    pass


def resolve(value: str, data_dir: Path) -> LocalModel:
    """A catalog name, or a path to any GGUF file (pure apart from ``expanduser``)."""
    spec = by_name(value)
    if spec is not None:
        return LocalModel(spec.name, models_dir(data_dir) / spec.filename, spec)
    path = Path(value).expanduser()
    if path.suffix.lower() == ".gguf" or "/" in value:
        return LocalModel(path.stem, path, None)
    known = ", ".join(s.name for s in CATALOG)
    raise UnknownModel(f"KITH_LLM__LOCAL_MODEL: '{value}' is neither a known model ({known}) "
                       "nor a path to a .gguf file")
