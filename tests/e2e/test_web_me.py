"""The knowledge page's routes over HTTP: same auth as the chat, JSON-only changes, CSP."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.fakes.llm import FakeLLM
from tests.support import make_settings, running_gateway, running_kith, write_bot

ME = "/me/kith"


async def test_changes_need_same_origin_json_and_a_real_confirmation(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    write_bot(tmp_path / "bots")
    async with running_kith(make_settings(tmp_path, url)) as kith, \
            running_gateway(kith) as base, httpx.AsyncClient(base_url=base) as client:
        page = await client.get(ME)
        assert page.status_code == 200 and "What Kith knows about you" in page.text
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "default-src 'none'" in csp
        known = (await client.get(f"{ME}/knowledge")).json()
        assert known["memories"] == [] and known["learning"] is True
        assert known["reminders"] == [] and known["lists"] == []
        assert [i["this"] for i in known["identities"]] == [True]
        form = await client.post(f"{ME}/learning", content="on=false",
                                 headers={"content-type": "application/x-www-form-urlencoded"})
        assert form.status_code == 415
        cross = await client.post(f"{ME}/learning", json={"on": False},
                                  headers={"origin": "http://evil.example"})
        assert cross.status_code == 403
        assert (await client.post(f"{ME}/learning", json={"on": "maybe"})).status_code == 400
        assert (await client.post(f"{ME}/memories/m00000000/forget", json={})).status_code == 404
        assert (await client.post(f"{ME}/memories/m00000000/edit",
                                  json={"text": " "})).status_code == 400
        sure = await client.post(f"{ME}/forget-everything", json={"confirm": "yes"})
        assert sure.status_code == 400 and "forget everything" in sure.json()["error"]
        assert (await client.post(f"{ME}/preferences/colour/clear", json={})).status_code == 400
        assert (await client.get(f"{ME}/knowledge")).json()["learning"] is True  # untouched
        off = await client.post(f"{ME}/learning", json={"on": False})
        assert off.json() == {"learning": False}
        assert (await client.get(f"{ME}/knowledge")).json()["learning"] is False
        asset = await client.get("/chat/kith/assets/vendor/purify.min.js")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(
            "text/javascript") and "DOMPurify" in asset.text
        assert (await client.get("/chat/kith/assets/../web.py")).status_code == 404
        assert (await client.get("/chat/kith/assets/webchat.html")).status_code == 404
    assert fake.chat_requests == []


async def test_the_page_and_its_routes_need_the_token_when_one_is_set(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    _, url = fake_llm
    write_bot(tmp_path / "bots")
    settings = make_settings(tmp_path, url, gateway={"webchat_token": "s3cret-token-value"})
    async with running_kith(settings) as kith, running_gateway(kith) as base, \
            httpx.AsyncClient(base_url=base) as client:
        for path in (ME, f"{ME}/knowledge", f"{ME}/export"):
            assert (await client.get(path)).status_code == 401
        assert (await client.post(f"{ME}/learning", json={"on": False})).status_code == 401
        auth = {"authorization": "Bearer s3cret-token-value"}
        assert (await client.get(f"{ME}/knowledge", headers=auth)).status_code == 200
        export = await client.get(f"{ME}/export", headers=auth)
        assert export.json()["format"] == "kith-export/1"
        assert "attachment" in export.headers["content-disposition"]


async def say(client: httpx.AsyncClient, text: str) -> str:
    body = {"session": "me-session-1", "text": text}
    async with client.stream("POST", "/chat/kith/send", json=body) as response:
        assert response.status_code == 200
        return "".join([piece async for piece in response.aiter_text()])


async def test_reminders_and_lists_show_cancel_export_and_are_forgotten_like_the_commands(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    write_bot(tmp_path / "bots")
    async with running_kith(make_settings(tmp_path, url)) as kith, \
            running_gateway(kith) as base, httpx.AsyncClient(base_url=base) as client:
        fake.script_tool_call("list_add", {"list": "shopping", "items": ["oat milk", "eggs"]})
        fake.script(["Added."])
        await say(client, "add oat milk and eggs to the shopping list")
        fake.script_tool_call("create_reminder",
                              {"text": "pack", "when": "2030-01-04T18:00:00+00:00"})
        fake.script(["Set."])
        await say(client, "remind me to pack on 4 January 2030 at 18:00")
        known = (await client.get(f"{ME}/knowledge")).json()
        assert [(i["list"], i["item"]) for i in known["lists"]] == [
            ("shopping", "oat milk"), ("shopping", "eggs")]
        [reminder] = known["reminders"]
        assert reminder["text"] == "pack" and "2030" in reminder["when"]
        exported = (await client.get(f"{ME}/export")).json()
        assert exported == json.loads(await say(client, "/export"))
        assert exported["schedules"][0]["text"] == "pack" and len(exported["lists"]) == 2
        cancel = await client.post(f"{ME}/reminders/{reminder['id']}/cancel", json={})
        assert cancel.json() == {"cancelled": reminder["id"]}
        assert "no reminders" in await say(client, "/reminders")
        again = await client.post(f"{ME}/reminders/{reminder['id']}/cancel", json={})
        assert again.status_code == 404
        gone = await client.post(f"{ME}/forget-everything", json={"confirm": "Forget everything"})
        assert gone.json()["list_items"] == 2
        assert "no lists" in await say(client, "/lists")
        assert (await client.get(f"{ME}/knowledge")).json()["lists"] == []
