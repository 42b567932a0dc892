"""A send whose response is lost after Telegram applied it shows twice: Telegram's
sendMessage has no idempotency key, so Kith cannot tell "applied, answer lost" from "never
arrived" and sends again. Measured here against the fake's fault injection (the figures
the README's delivery section quotes); a lost response never loses the reply, and no
other send is repeated."""

from __future__ import annotations

from tests.adapters.telegram.rig import OWNER, RigFactory, fixture

ROUNDS = 20


async def _say(rig: object, n: int, text: str) -> None:
    update = fixture("private_text")
    update["update_id"] = 700_000 + n
    update["message"]["message_id"] += 1000 + n
    update["message"]["text"] = text
    await rig.send(update)  # type: ignore[attr-defined]


async def test_a_send_applied_but_unanswered_shows_twice_and_nothing_else_does(
        telegram_rig: RigFactory) -> None:
    async with telegram_rig() as rig:
        rig.llm.reply = lambda request: "Answer " + str(request["messages"][-1]["content"])[-8:]
        for n in range(ROUNDS):  # healthy: one message per reply
            await _say(rig, n, f"calm {n:04d}")
        calm = len(rig.bot_api.chat_texts(OWNER))
        for n in range(ROUNDS):  # every reply's first send: applied, then its answer lost
            rig.bot_api.inject("sendMessage", 502, "Bad Gateway", applied=True)
            await _say(rig, ROUNDS + n, f"lost {n:04d}")
        texts = rig.bot_api.chat_texts(OWNER)[calm:]
    assert calm == ROUNDS  # no fault, no duplicate
    shown = {t: texts.count(t) for t in texts}
    print(f"\nlost-response sends: {ROUNDS}; replies shown twice: "
          f"{sum(1 for c in shown.values() if c == 2)}; shown once: "
          f"{sum(1 for c in shown.values() if c == 1)}; messages: {len(texts)}")
    assert len(shown) == ROUNDS, "every reply arrived"
    assert sorted(shown.values()) == [2] * ROUNDS, "each lost response: exactly one repeat"
