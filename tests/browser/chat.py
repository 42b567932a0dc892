"""Driving the chat page like a person: type, press Enter, wait for the reply."""

from __future__ import annotations

from playwright.sync_api import Locator, Page


def open_chat(page: Page, base: str, query: str = "") -> None:
    page.goto(f"{base}/chat/kith{query}")
    page.wait_for_selector("#log .empty, #log .msg")


def send(page: Page, text: str, timeout: float = 60_000) -> Locator:
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


CONTRAST = """selectors => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || c[3] > 0.5) return c.slice(0, 3);
    }
    return rgb(getComputedStyle(document.body).backgroundColor).slice(0, 3);
  };
  const out = {};
  for (const s of selectors) {
    const el = document.querySelector(s);
    if (!el) { out[s] = null; continue; }
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
    out[s] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  }
  return out;
}"""


def contrast(page: Page, *selectors: str) -> dict[str, float]:
    """WCAG contrast ratio of each element's text against its background."""
    ratios: dict[str, float] = page.evaluate(CONTRAST, list(selectors))
    return ratios
