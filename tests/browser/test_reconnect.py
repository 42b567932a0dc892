"""After a dropped connection the page shows the reply once it completes, without a reload
(issue 10, item 6, the page's side): ``kill -9`` mid-turn, restart, the reply appears."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.chat import open_chat
from tests.browser.conftest import shot
from tests.browser.kit import Brain, kill_9, serving, wait_for
from tests.fakes.llm import FakeLLM, running_fake_llm_sync
from tests.support import free_port, write_bot


def test_a_reply_that_completes_after_a_dropped_connection_shows_without_a_reload(
    page: Page, tmp_path: Path, artefacts: Path
) -> None:
    write_bot(tmp_path / "bots")
    brain = Brain(chat={"are you still there?": "Yes — and here is your answer."})
    fake = FakeLLM(reply=brain, ttft=600)  # the first try never finishes: Kith dies under it
    port = free_port()
    with running_fake_llm_sync(fake) as url:
        with serving(tmp_path, url, port) as first:
            open_chat(page, first.base)
            page.evaluate("window.__sameDocument = true")
            page.locator("#text").fill("are you still there?")
            page.locator("#text").press("Enter")
            wait_for(lambda: fake.chat_requests, 20, "the turn never reached the model")
            kill_9(first)
        page.wait_for_selector("#status[data-state='offline']", timeout=60_000)
        shot(page, artefacts, "6-connection-lost")
        fake.ttft = 0.0
        with serving(tmp_path, url, port):
            page.wait_for_function(
                "() => [...document.querySelectorAll('#log .msg.assistant')]"
                ".some(e => e.textContent.trim() === 'Yes — and here is your answer.')",
                timeout=30_000)
            time.sleep(0.3)
            assert page.evaluate("window.__sameDocument") is True  # no reload happened
            assert page.locator("#log .msg.assistant").count() == 1
            assert page.locator("#log .msg.failed").count() == 0
            shot(page, artefacts, "6-picked-up")
    assert brain.unexpected == []
    if len(fake.chat_requests) < 2:
        pytest.fail("the restarted Kith did not answer the pending message")
