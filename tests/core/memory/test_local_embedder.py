"""The optional local embedder: asked for without its package, Kith says how to install it
and exits with a config error; asked for with a server embedding model, it is not loaded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bots.runtime import local_embedder
from core.memory.embedder import PACKAGE, LocalEmbedderMissing, LocalMiniLM
from core.settings import ConfigError, Settings


def settings(tmp_path: Path, **memory: object) -> Settings:
    return Settings(data_dir=tmp_path, memory=memory)  # type: ignore[arg-type]


def test_missing_package_is_a_config_error_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, PACKAGE, None)  # as if not installed: import fails
    with pytest.raises(LocalEmbedderMissing, match=r"kith\[local-embed\]"):
        LocalMiniLM()
    with pytest.raises(ConfigError, match="KITH_MEMORY__LOCAL_EMBEDDER"):
        local_embedder(settings(tmp_path, local_embedder=True))


def test_off_by_default_and_the_servers_model_wins(tmp_path: Path) -> None:
    assert local_embedder(settings(tmp_path)) is None
    both = Settings(data_dir=tmp_path, memory={"local_embedder": True},  # type: ignore[arg-type]
                    llm={"embed_model": "bge-small"})  # type: ignore[arg-type]
    assert local_embedder(both) is None
