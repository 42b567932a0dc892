"""The web page names its messages; the inbound id is made from that name in one place."""

from __future__ import annotations

from adapters.web import client_id_of, message_id_of, to_inbound


def test_the_pages_message_id_and_back() -> None:
    made = to_inbound("kith", {"session": "s" * 22, "id": "client-1", "text": "hi"})
    assert not isinstance(made, str)
    assert made.id == message_id_of("kith", "s" * 22, "client-1") == f"web:kith:{'s' * 22}:client-1"
    assert client_id_of("kith", "s" * 22, made.id) == "client-1"
