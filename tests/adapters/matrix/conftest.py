"""A real Synapse for the whole session (started on first use, about two seconds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.adapters.matrix.synapse import Synapse, running_synapse


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    with running_synapse(tmp_path_factory.mktemp("synapse")) as server:
        yield server
