"""Every Store backend runs the same contract. Add a backend by adding a param here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.store.base import Store
from core.store.sqlite import SQLiteStore

BACKENDS = ["sqlite", "postgres"]


def make_store(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Store:
    """A new, unopened store of ``backend`` (postgres: on this test's fresh database)."""
    if backend == "sqlite":
        return SQLiteStore(tmp_path / "contract.db")
    if backend == "postgres":
        from core.store.postgres.store import PostgresStore

        return PostgresStore(request.getfixturevalue("pg_url"), max_size=4)
    raise AssertionError(backend)  # pragma: no cover - a new backend must be wired here


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    backend = make_store(request, request.param, tmp_path)
    await backend.open()
    yield backend
    await backend.close()


@pytest.fixture
async def twin(store: Store, request: pytest.FixtureRequest,
               tmp_path: Path) -> AsyncIterator[Store]:
    """A second store on ``store``'s database, as another replica (or process) has."""
    backend = "sqlite" if isinstance(store, SQLiteStore) else "postgres"
    other = make_store(request, backend, tmp_path)
    await other.open()
    yield other
    await other.close()
