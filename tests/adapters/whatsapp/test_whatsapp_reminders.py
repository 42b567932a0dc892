"""A reminder for someone outside WhatsApp's 24-hour window: a template, else the owner is told."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.adapters.whatsapp.test_whatsapp_twilio import (
    FRIEND,
    OWNER,
    PUBLIC,
    SID,
    TOKEN,
    Rig,
    fixture,
)
from tests.fakes.llm import FakeLLM, running_fake_llm
from tests.fakes.loopback import serve_loopback
from tests.fakes.twilio import FakeTwilio
from tests.support import make_settings, running_gateway, running_kith, write_bot

TEMPLATE = "HX" + "ab12" * 8


@pytest.fixture(params=["template", "no template"])
async def rig(request: pytest.FixtureRequest, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    monkeypatch.setenv("TEST_TWILIO_SID", SID)
    monkeypatch.setenv("TEST_TWILIO_TOKEN", TOKEN)
    llm, twilio = FakeLLM(strict=True), FakeTwilio(SID, TOKEN)
    template = f'reminder_template_sid = "{TEMPLATE}"' if request.param == "template" else ""
    async with running_fake_llm(llm) as llm_url, serve_loopback(twilio.app()) as api:
        write_bot(tmp_path / "bots", toml=f"""
            [channels.whatsapp]
            account_sid_env = "TEST_TWILIO_SID"
            auth_token_env = "TEST_TWILIO_TOKEN"
            from_number = "+14155238886"
            api_base_url = "{api}"
            owners = ["{OWNER}"]
            allowed_numbers = ["{FRIEND}"]
            {template}
        """)
        settings = make_settings(tmp_path, llm_url, gateway={"public_url": PUBLIC})
        async with running_kith(settings) as kith, running_gateway(kith) as gateway:
            twilio.callback_target = f"{gateway}/hooks/kith/whatsapp"
            async with httpx.AsyncClient(timeout=10.0) as client:
                yield Rig(kith, llm, twilio, gateway, client)
    assert llm.unexpected == 0 and llm.unconsumed == 0


async def test_reminder_outside_the_window(rig: Rig) -> None:
    due = datetime.now(UTC) + timedelta(seconds=2)
    rig.llm.script_tool_call("create_reminder", {"text": "renew the passport",
                                                 "when": due.isoformat()})
    rig.llm.script(["Sure."])
    await rig.post(fixture("twilio_text", From=f"whatsapp:{FRIEND}", WaId=FRIEND[1:],
                           Body="remind me to renew the passport"))
    await rig.kith.dispatcher.join()
    [confirmation] = await rig.twilio.wait_messages(1)
    assert "renew the passport" in confirmation["Body"]
    # a day passes without a word from them: their window closes before the reminder is due
    day_ago = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
    rig.kith.store.db.execute("UPDATE turns SET created_at = ?", (day_ago,))  # type: ignore[attr-defined]
    sent = await rig.twilio.wait_messages(2, within=15)
    later = sent[1]
    if rig.kith.channels[("kith", "whatsapp")].config.reminder_template_sid:  # type: ignore[attr-defined]
        assert later["To"] == f"whatsapp:{FRIEND}" and "Body" not in later
        assert later["ContentSid"] == TEMPLATE
        assert json.loads(later["ContentVariables"])["1"].startswith(
            "⏰ Reminder: renew the passport")
    else:
        assert later["To"] == f"whatsapp:{OWNER}"
        assert FRIEND in later["Body"] and "renew the passport" in later["Body"]
    assert len(rig.twilio.messages) == 2  # nothing free-form was tried outside the window


@pytest.mark.parametrize("template", [True, False], ids=["template", "no template"])
async def test_cloud_reminder_outside_the_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: bool
) -> None:
    from tests.adapters.whatsapp import test_whatsapp_cloud as cloud
    from tests.fakes.graph import FakeGraph

    for name, value in (("T_WA_TOKEN", cloud.TOKEN), ("T_WA_SECRET", cloud.APP_SECRET),
                        ("T_WA_VERIFY", cloud.VERIFY)):
        monkeypatch.setenv(name, value)
    llm, graph = FakeLLM(strict=True), FakeGraph(cloud.TOKEN, app_secret=cloud.APP_SECRET,
                                                 version="v22.0")
    line = 'reminder_template = "kith_reminder"' if template else ""
    async with running_fake_llm(llm) as llm_url, serve_loopback(graph.app()) as api:
        write_bot(tmp_path / "bots", toml=f"""
            [channels.whatsapp_cloud]
            access_token_env = "T_WA_TOKEN"
            app_secret_env = "T_WA_SECRET"
            verify_token_env = "T_WA_VERIFY"
            phone_number_id = "{cloud.PHONE_ID}"
            api_base_url = "{api}"
            api_version = "v22.0"
            owners = ["{cloud.OWNER}"]
            allowed_numbers = ["{cloud.FRIEND}"]
            {line}
        """)
        settings = make_settings(tmp_path, llm_url)
        async with (running_kith(settings) as kith, running_gateway(kith) as gateway,
                    httpx.AsyncClient(timeout=10.0) as client):
            rig = cloud.Rig(kith, llm, graph, gateway, client)
            due = datetime.now(UTC) + timedelta(seconds=2)
            llm.script_tool_call("create_reminder", {"text": "renew the passport",
                                                     "when": due.isoformat()})
            llm.script(["Sure."])
            await rig.post(cloud.text_message("wamid.r1", "remind me", cloud.FRIEND))
            await kith.dispatcher.join()
            day_ago = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
            kith.store.db.execute("UPDATE turns SET created_at = ?", (day_ago,))  # type: ignore[attr-defined]
            for _ in range(300):
                if len(graph.messages) >= 2:
                    break
                await asyncio.sleep(0.05)
    later = graph.messages[1]
    if template:
        assert later["to"] == cloud.FRIEND.lstrip("+") and later["type"] == "template"
        assert later["template"]["name"] == "kith_reminder"
        [param] = later["template"]["components"][0]["parameters"]
        assert param["text"].startswith("⏰ Reminder: renew the passport")
    else:
        assert later["to"] == cloud.OWNER.lstrip("+") and later["type"] == "text"
        assert "renew the passport" in later["text"]["body"]
    assert len(graph.messages) == 2
    assert graph.reads == ["wamid.r1"]  # the reminder marked nothing read
    assert llm.unexpected == 0 and llm.unconsumed == 0
