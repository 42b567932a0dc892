"""Canary: the bot token and the webhook secret are in no log line, at DEBUG, from
setWebhook at start through a webhook update and its reply."""

from __future__ import annotations

from tests.adapters.telegram.rig import OWNER, SECRET, RigFactory, fixture
from tests.canary import assert_clean, debug_log
from tests.fakes.telegram import TOKEN


async def test_no_credential_in_the_debug_log(telegram_rig: RigFactory) -> None:
    with debug_log() as out:
        async with telegram_rig() as rig:
            await rig.send(fixture("private_text"))
            assert rig.bot_api.chat_texts(OWNER)
    assert_clean(out, TOKEN, SECRET)
