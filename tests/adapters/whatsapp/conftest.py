"""Fixtures for the WhatsApp tests."""

from tests.canary import debug_logs  # noqa: F401 - a fixture
