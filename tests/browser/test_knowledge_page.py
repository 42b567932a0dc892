"""'What Kith knows about me' in a real Chromium against a real ``kith serve`` (issue 16, 4-5)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from playwright.sync_api import Locator, Page

from tests.browser.chat import open_chat, send
from tests.browser.conftest import shot
from tests.browser.kit import Served
from tests.fakes.llm import FakeLLM


def open_me(page: Page, base: str) -> None:
    page.goto(f"{base}/me/kith")
    page.wait_for_selector("#memories > li")


def memory_item(page: Page, text: str, timeout: float = 15) -> Locator:
    """The page's entry for ``text``, reloading while background learning catches up."""
    deadline = time.monotonic() + timeout
    while True:
        item = page.locator("li[data-memory]", has=page.get_by_text(text, exact=True))
        if item.count():
            return item
        assert time.monotonic() < deadline, f"{text!r} never showed on the page"
        time.sleep(0.3)
        page.reload()
        page.wait_for_selector("#memories > li")


def settle(fake: FakeLLM, quiet: float = 0.6) -> None:
    """Wait until the model has had no request for ``quiet`` s (background learning done)."""
    seen, since = len(fake.requests), time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.1)
        if len(fake.requests) != seen:
            seen, since = len(fake.requests), time.monotonic()


def test_a_fact_told_in_chat_shows_with_its_source_and_forgetting_it_is_real(
    page: Page, kith: Served, artefacts: Path
) -> None:
    open_chat(page, kith.base)
    send(page, "I grew up in Quokkaville")
    send(page, "I play the sackbut")  # a second memory, so the page shows more than one
    open_me(page, kith.base)
    item = memory_item(page, "Grew up in Quokkaville")
    memory_item(page, "Plays the sackbut")
    assert "You said: “I grew up in Quokkaville”" in item.inner_text()
    assert "from web chat" in item.inner_text() and "private" in item.inner_text()
    assert b"Quokkaville" in kith.db_bytes()  # the check below can fail: it is there now
    shot(page, artefacts, "4-knows-about-me")
    item.get_by_role("button", name="Forget: Grew up in Quokkaville").click()
    page.wait_for_function(
        "() => ![...document.querySelectorAll('li[data-memory] .what')]"
        ".some(e => e.textContent === 'Grew up in Quokkaville')")
    page.reload()
    page.wait_for_selector("#memories > li")
    assert page.get_by_text("Grew up in Quokkaville").count() == 0
    assert page.get_by_text("Plays the sackbut", exact=True).count() == 1
    shot(page, artefacts, "4-after-forgetting")
    open_chat(page, kith.base)
    listing = send(page, "/memory").inner_text()
    assert "Quokkaville" not in listing and "Plays the sackbut" in listing
    raw = kith.db_bytes()
    assert b"Quokkaville" not in raw and b"quokkavil" not in raw.lower()
    assert b"Plays the sackbut" in raw


def test_edit_narrow_pause_and_forget_everything_from_the_page(
    page: Page, kith: Served, artefacts: Path, llm: tuple[FakeLLM, str]
) -> None:
    open_chat(page, kith.base)
    send(page, "I live near Lake Wobegonia")
    assert "Daily briefing at 07:30" in send(page, "/briefing 07:30").inner_text()
    open_me(page, kith.base)
    briefing = page.locator("#reminders > li", has_text="Daily briefing")
    assert "every day" in briefing.inner_text() or "next" in briefing.inner_text()
    briefing.get_by_role("button", name="Cancel: briefing").click()
    page.wait_for_function("() => !document.querySelector('#reminders button')")
    item = memory_item(page, "Lives near Lake Wobegonia")
    item.get_by_role("button", name="Edit: Lives near Lake Wobegonia").click()
    box = item.get_by_label("Memory text")
    box.fill("Lives near Lake Geneva")
    box.press("Enter")
    memory_item(page, "Lives near Lake Geneva")
    sackbut = memory_item(page, "Plays the sackbut")
    assert "shared" in sackbut.inner_text()
    sackbut.get_by_role("button", name="Make private: Plays the sackbut").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('li[data-memory]')].some(li =>"
        " li.textContent.includes('Plays the sackbut') && li.querySelector('.badge.private'))")
    page.get_by_label("Learn from our conversations").uncheck()
    page.wait_for_selector("#toast.show")
    open_chat(page, kith.base)
    assert "Learning is off" in send(page, "/learning").inner_text()
    assert "No daily briefing" in send(page, "/briefing").inner_text()
    listing = send(page, "/memory").inner_text()
    assert "Lives near Lake Geneva" in listing and "Plays the sackbut" in listing
    assert "(private)" in listing.split("Plays the sackbut")[1].split("\n")[0]
    open_me(page, kith.base)
    assert not page.get_by_label("Learn from our conversations").is_checked()
    page.get_by_label("Learn from our conversations").check()
    page.get_by_role("button", name="Forget everything…").click()
    shot(page, artefacts, "5-confirm-forget-everything")
    page.get_by_role("button", name="Cancel").click()  # nothing happens without a yes
    assert page.locator("li[data-memory]").count() >= 2
    page.get_by_role("button", name="Forget everything…").click()
    page.get_by_role("button", name="Yes, forget everything").click()
    page.wait_for_function("() => !document.querySelector('li[data-memory]')")
    raw = kith.db_bytes()
    assert b"Lake Geneva" not in raw and b"Wobegonia" not in raw and b"sackbut" not in raw
    settle(llm[0])


def test_export_from_the_page_equals_the_export_command(
    page: Page, kith: Served, llm: tuple[FakeLLM, str]
) -> None:
    open_chat(page, kith.base)
    send(page, "I play the sackbut")  # something to export
    open_me(page, kith.base)
    memory_item(page, "Plays the sackbut")
    settle(llm[0])
    with page.expect_download() as download:
        page.get_by_role("link", name="Export everything (JSON)").click()
    exported = json.loads(Path(download.value.path()).read_text("utf-8"))
    assert download.value.suggested_filename == "kith-export.json"
    open_chat(page, kith.base)
    answer = json.loads(send(page, "/export").inner_text())
    assert exported == answer
    assert any(m["text"] == "Plays the sackbut" for m in exported["memories"])
