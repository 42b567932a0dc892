"""The chat page in a real headless Chromium against a real ``kith serve`` (issue 16, 1-3)."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Browser, Page

from tests.browser.chat import contrast, open_chat, send
from tests.browser.conftest import shot
from tests.browser.kit import Served, serving
from tests.fakes.llm import FakeLLM, Fault
from tests.support import free_port, write_bot


def test_a_reply_renders_formatted_and_its_script_never_runs(
    page: Page, kith: Served, artefacts: Path
) -> None:
    open_chat(page, kith.base)
    reply = send(page, "show me formatting")
    assert reply.locator("strong").inner_text() == "bold"
    assert reply.locator("ul > li").all_inner_texts() == ["first item", "second item"]
    code = reply.locator(".code")
    assert code.locator("pre").inner_text().strip() == 'print("hi")'
    assert code.locator("header").inner_text().startswith("python")
    assert code.get_by_role("button", name="Copy code").is_visible()
    link = reply.get_by_role("link", name="the docs")
    assert link.get_attribute("target") == "_blank"
    assert set((link.get_attribute("rel") or "").split()) >= {"noopener", "noreferrer"}
    assert reply.locator("img, script").count() == 0
    assert reply.get_by_role("link", name="click me").count() == 0  # javascript: is no link
    assert "<img src=x onerror=" in reply.inner_text()  # shown as the text it is
    shot(page, artefacts, "1-markdown")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        ratios = contrast(page, "#log .msg.user", "#log .msg.assistant p", ".code pre",
                          ".code header span", "#status", ".hint", "#chats small", "#send",
                          "#log .msg.assistant a")
        low = {k: round(v, 2) for k, v in ratios.items() if v is None or v < 4.5}
        assert not low, f"text below WCAG AA contrast in {scheme} mode: {low}"
    shot(page, artefacts, "1-markdown-dark")
    page.emulate_media(color_scheme="light")
    page.reload()
    page.wait_for_selector("#log .msg.assistant strong")  # history renders the same way
    again = page.locator("#log .msg.assistant").last
    assert again.locator(".code pre").count() == 1 and again.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None and page.title() != "pwned"


def test_the_page_works_on_a_plain_http_name_that_is_not_localhost(
    page: Page, llm: tuple[FakeLLM, str], artefacts: Path, tmp_path: Path
) -> None:
    """A name that is not localhost (a LAN name) needs the token: opened once with
    ``?token=``, the page works from its cookie."""
    write_bot(tmp_path / "bots")
    token = "Zq3-vN8xWp2LkT7rYc5HbM1sJd4GfA9e"
    with serving(tmp_path, llm[1], free_port(), KITH_GATEWAY__WEBCHAT_TOKEN=token) as kith:
        base = f"http://kith.test:{kith.port}"
        page.goto(f"{base}/chat/kith")
        assert "a valid token is required" in page.content()
        open_chat(page, base, f"?token={token}")
        _plain_http_chat(page, artefacts)


def _plain_http_chat(page: Page, artefacts: Path) -> None:
    assert page.evaluate("window.isSecureContext") is False
    assert page.evaluate("typeof crypto.randomUUID") == "undefined"  # the old page died here
    reply = send(page, "hello from kith.test")
    assert reply.inner_text() == "Hello! This page works on plain HTTP too."
    reply.page.wait_for_selector("#status[data-state='ready']")
    assert "llama-test" in page.locator("#status").inner_text()
    page.locator("#new").click()  # a new chat; the old one stays in the list
    assert page.locator("#log .msg").count() == 0
    assert send(page, "a second conversation").inner_text() == "A fresh start."
    chats = page.locator("#chats button")
    assert chats.count() == 2
    assert chats.nth(0).get_attribute("aria-current") == "true"
    shot(page, artefacts, "2-plain-http-two-chats")
    chats.nth(1).click()
    page.wait_for_function("() => document.querySelectorAll('#log .msg').length === 2")
    assert page.locator("#log .msg.user").inner_text() == "hello from kith.test"
    page.reload()  # both survive a reload
    page.wait_for_selector("#log .msg.user")
    assert page.locator("#chats button").count() == 2
    assert page.locator("#log .msg.user").inner_text() == "hello from kith.test"


def test_on_a_phone_the_input_and_the_last_message_are_visible(
    browser: Browser, kith: Served, artefacts: Path
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    context.set_default_timeout(60_000)
    page = context.new_page()
    try:
        open_chat(page, kith.base)
        for _ in range(3):
            send(page, "tell me something long")
        last = page.locator("#log .msg").last.bounding_box()
        box = page.locator("#text").bounding_box()
        send_button = page.locator("#send").bounding_box()
        log = page.locator("#log").bounding_box()
        assert last and box and send_button and log
        assert box["y"] >= 0 and box["y"] + box["height"] <= 844
        assert send_button["x"] + send_button["width"] <= 390
        assert last["y"] + last["height"] <= log["y"] + log["height"] + 1  # scrolled into view
        assert last["y"] + last["height"] <= box["y"]
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways ({width}px)"
        shot(page, artefacts, "3-phone")
        page.locator("#menu").click()  # the conversation list opens as a drawer
        page.wait_for_function(
            "() => document.getElementById('sidebar').getBoundingClientRect().left >= 0")
        assert page.locator("#chats button").count() == 1
        shot(page, artefacts, "3-phone-conversations")
    finally:
        context.close()


def test_keyboard_only_and_labelled_controls(
    page: Page, kith: Served, llm: tuple[FakeLLM, str]
) -> None:
    open_chat(page, kith.base)
    assert page.evaluate("document.activeElement.id") == "text"
    assert page.get_by_label("Message", exact=True).count() == 1
    assert page.get_by_role("button", name="Send").count() == 1
    assert page.get_by_role("navigation", name="Conversations").count() == 1
    llm[0].itl = 0.01  # a reply that streams for a second or two
    try:
        page.keyboard.type("tell me something long")
        page.keyboard.press("Enter")
        page.wait_for_selector("#log .msg.assistant p")
        sizes = page.evaluate(STABLE)
        streaming = page.locator("#log").get_attribute("aria-busy")
    finally:
        llm[0].itl = 0.0
    assert streaming == "true"  # it was measured while the reply streamed
    assert len(sizes) == 1  # the composer never moves while a reply streams or renders


STABLE = """() => new Promise(done => {
        const top = () => document.querySelector('.composer').getBoundingClientRect().top;
        const seen = new Set([top()]);
        let n = 0;
        const tick = () => { seen.add(top());
          if (++n < 30) requestAnimationFrame(tick); else done([...seen]); };
        tick();
    })"""


def test_the_status_line_says_when_the_model_is_unreachable_and_when_it_is_back(
    page: Page, kith: Served, llm: tuple[FakeLLM, str], artefacts: Path
) -> None:
    fake = llm[0]
    open_chat(page, kith.base)
    page.wait_for_selector("#status[data-state='ready']")
    fake.fail_all = Fault.status(500)
    try:
        reply = send(page, "is anyone there?")
        assert "can't reach my language model" in reply.inner_text()
        wait_state(page, "unreachable")  # /readyz caches its probe for a few seconds
        assert "unreachable" in page.locator("#status").inner_text()
        shot(page, artefacts, "7-model-unreachable")
    finally:
        fake.fail_all = None
    wait_state(page, "ready")


def wait_state(page: Page, state: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while page.locator("#status").get_attribute("data-state") != state:
        assert time.monotonic() < deadline, f"the status line never said {state}"
        page.evaluate("() => poll()")
        time.sleep(0.5)
