"""Yes / No buttons for a proposed action on the chat page, in a real headless Chromium
against a real ``kith serve`` (default configuration).

The web chat never quotes anyone, so no web message makes a context untrusted today; the
proposal is recorded in the served database as the tool loop records one (real turns make
them in tests/core/actions/test_approvals.py) for this page's session. Everything after it
is the real path: the page lists it, the press goes through /send, the core decides it."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid

import httpx
from playwright.sync_api import Page

from core.actions.approvals import NOT_WAITING
from core.actions.model import ActionKey, short_id
from tests.browser.chat import open_chat, send
from tests.browser.conftest import BRAIN
from tests.browser.kit import Served

ARGS = json.dumps({"text": "pay Ben", "when": "2099-01-01T09:00:00+00:00", "repeat": ""})


def propose(kith: Served, session: str, n: int) -> str:
    """Record a proposal in the served database; its action id."""
    key = ActionKey(f"web:kith:{session}:seeded{n:04d}", 0)
    db = sqlite3.connect(kith.data_dir / "kith.sqlite3", timeout=10)
    try:
        [person] = db.execute("SELECT person_id FROM identities "
                              "WHERE channel = 'local' AND platform_id = 'owner'").fetchone()
        now = time.time()
        db.execute(
            "INSERT INTO actions (inbound_id, idx, person_id, conversation, tool, args, state, "
            "summary, reason, created_at, expires_at) VALUES (?, ?, ?, ?, 'create_reminder', "
            "?, 'proposed', ?, 'the forwarded message', ?, ?)",
            (key.inbound_id, key.index, person, f"kith/web/{session}", ARGS,
             f"create reminder (text: pay Ben {n})", now - 60, now + 86400))
        db.commit()
    finally:
        db.close()
    return short_id(key)


def reminders(kith: Served) -> list[str]:
    db = sqlite3.connect(kith.data_dir / "kith.sqlite3", timeout=10)
    try:
        return [r[0] for r in db.execute(
            "SELECT text FROM schedules WHERE text = 'pay Ben' AND active = 1")]
    finally:
        db.close()


def answered(page: Page, before: int) -> str:
    page.wait_for_function(
        "n => document.querySelectorAll('#log .msg.assistant').length > n"
        " && document.getElementById('log').getAttribute('aria-busy') === 'false'",
        arg=before, timeout=20_000)
    return page.locator("#log .msg.assistant").last.inner_text()


def test_a_press_on_yes_does_it_once_and_no_does_nothing(page: Page, kith: Served) -> None:
    BRAIN.chat["let's talk about approvals"] = "Sure."
    open_chat(page, kith.base)
    send(page, "let's talk about approvals")
    session = page.evaluate("localStorage.getItem('kith-session-kith')")
    action = propose(kith, session, 1)
    page.reload()
    box = page.locator(f"#log .msg.proposal[data-action='{action}']")
    box.wait_for()
    assert box.locator("p").inner_text() == "Do this? create reminder (text: pay Ben 1)"
    before = page.locator("#log .msg.assistant").count()
    box.get_by_role("button", name="Yes, do it").click()
    said = answered(page, before)
    assert said.startswith("Reminder set: pay Ben") and "Undo: /reminders cancel r" in said
    assert page.locator("#log .msg.proposal").count() == 0
    assert reminders(kith) == ["pay Ben"]
    # the same press sent again (a replayed request with a new id): nothing waits for it
    again = httpx.post(f"{kith.base}/chat/kith/send", timeout=30, json={
        "session": session, "text": "yes", "id": uuid.uuid4().hex,
        "decision": {"action": action, "approve": True}})
    assert again.status_code == 200 and again.text == NOT_WAITING
    assert reminders(kith) == ["pay Ben"]

    declined = propose(kith, session, 2)
    page.reload()
    box = page.locator(f"#log .msg.proposal[data-action='{declined}']")
    box.wait_for()
    before = page.locator("#log .msg.assistant").count()
    box.get_by_role("button", name="No").click()
    assert answered(page, before).startswith("OK, I won't: create reminder (text: pay Ben 2)")
    assert reminders(kith) == ["pay Ben"]
    page.reload()
    page.wait_for_selector("#log .msg")
    time.sleep(0.5)  # the page asks for proposals after the history: none are left
    assert page.locator("#log .msg.proposal").count() == 0
    undo = said.rsplit("Undo: ", 1)[1].strip()  # the undo the announcement offered
    assert "Cancelled" in send(page, undo).inner_text()
    assert reminders(kith) == []  # (and the page tests after this one see none)


def test_a_malformed_decision_is_refused(kith: Served) -> None:
    for decision in ({"action": "x", "approve": True}, {"action": "a0123456789a"}, "yes"):
        res = httpx.post(f"{kith.base}/chat/kith/send", timeout=30, json={
            "session": "session-abcdef", "text": "yes", "decision": decision})
        assert res.status_code == 400 and "decision" in res.json()["error"]
