"""The knowledge page's routes over HTTP: same auth as the chat, JSON-only changes, CSP."""

from __future__ import annotations

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
        assert known["reminders"] is None
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
    fake, url = fake_llm
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
