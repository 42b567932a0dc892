"""Which words answer a proposal (pure): a bare yes or no, nothing that merely agrees."""

from __future__ import annotations

import pytest

from core.tools.approvals import parse_answer


@pytest.mark.parametrize("text", ["yes", "Yes.", "YES!", " yes please ", "👍", "sí", "oui"])
def test_yes(text: str) -> None:
    assert parse_answer(text) is True


@pytest.mark.parametrize("text", ["no", "No.", "no thanks", "👎", "não", "nein"])
def test_no(text: str) -> None:
    assert parse_answer(text) is False


@pytest.mark.parametrize("text", ["ok", "sure", "ok thanks", "yes, and remind me too",
                                  "yesterday", "no idea", "", "> yes"])
def test_anything_else_is_not_an_answer(text: str) -> None:
    assert parse_answer(text) is None
