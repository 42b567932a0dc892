"""Every Store backend runs the same contract. Add a backend by adding a param here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.store.base import Store
from core.store.sqlite import SQLiteStore

BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        backend: Store = SQLiteStore(tmp_path / "contract.db")
    else:  # pragma: no cover - a new backend must be wired here
        raise AssertionError(request.param)
    await backend.open()
    yield backend
    await backend.close()
