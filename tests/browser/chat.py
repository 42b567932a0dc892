"""Driving the chat page like a person: type, press Enter, wait for the reply."""

from __future__ import annotations

from playwright.sync_api import Locator, Page


def open_chat(page: Page, base: str) -> None:
    page.goto(f"{base}/chat/kith")
    page.wait_for_selector("#log .empty, #log .msg")


def send(page: Page, text: str, timeout: float = 20_000) -> Locator:
    """Send ``text`` with the keyboard; returns the reply's bubble once it is complete."""
    before = page.locator("#log .msg.assistant, #log .msg.failed").count()
    page.locator("#text").fill(text)
    page.locator("#text").press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#log .msg.assistant, #log .msg.failed').length > n"
        " && document.getElementById('log').getAttribute('aria-busy') === 'false'",
        arg=before, timeout=timeout,
    )
    return page.locator("#log .msg.assistant, #log .msg.failed").last
