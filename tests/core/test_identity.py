from __future__ import annotations

from pathlib import Path

from core.events import ConversationKey, Sender
from tests.core.harness import Recorder, message, running_core
from tests.fakes.llm import FakeLLM


async def test_one_number_on_two_whatsapp_providers_is_one_person(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    number = Sender("+351912345678", "Ana", namespace="tel")
    async with running_core(tmp_path / "k.db", [url]) as core:
        for channel in ("whatsapp", "whatsapp_cloud"):
            core.dispatcher.register("kith", channel, Recorder())
        twilio = ConversationKey("kith", "whatsapp", number.platform_id)
        cloud = ConversationKey("kith", "whatsapp_cloud", number.platform_id)
        await core.dispatcher.submit(message("x", 1, "/prefs name Ana Sofia",
                                             conversation=twilio, sender=number))
        await core.dispatcher.join()
        await core.dispatcher.submit(message("y", 2, "hello", conversation=cloud, sender=number))
        stranger = Sender(number.platform_id, "Other")  # same id, another channel's space
        await core.dispatcher.submit(message("z", 3, "hi", sender=stranger))
        await core.dispatcher.join()
    # the two last turns run at once (two conversations): find each by what it answers
    by_text = {str(r["messages"][-1]["content"]).rsplit("\n", 1)[-1]: r
               for r in fake.chat_requests}
    assert "Call them: Ana Sofia" in by_text["hello"]["messages"][0]["content"]
    assert "Ana Sofia" not in by_text["hi"]["messages"][0]["content"]
