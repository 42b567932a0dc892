"""A reminder for someone outside WhatsApp's 24-hour window: a template, else the owner is told."""

from __future__ import annotations

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
