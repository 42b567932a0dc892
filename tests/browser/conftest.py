"""One headless Chromium, one fake LLM, one ``kith serve`` for all browser tests; a fresh
browser context (own localStorage, so its own conversations) per test.

The fixtures are package-scoped: started once for the whole browser session, and stopped
when it ends. Playwright's sync API keeps its own event loop running on the main thread
while it is open, so it must be closed before the asyncio tests of other packages run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.kit import Brain, Served, fact, running_chromium, serving
from tests.fakes.llm import FakeLLM, running_fake_llm_sync
from tests.support import free_port, write_bot

MARKDOWN = """Here is **bold** text and a list:

- first item
- second item

```python
print("hi")
```

See [the docs](https://docs.example.invalid/page) for more.

<img src=x onerror="window.__pwned = 1; document.title = 'pwned'">
<script>window.__pwned = 2</script>
[click me](javascript:window.__pwned=3)"""

BRAIN = Brain(
    chat={
        "show me formatting": MARKDOWN,
        "I grew up in Quokkaville": "Noted: Quokkaville sounds lovely.",
        "I play the sackbut": "A sackbut! Lovely.",
        "I live near Lake Wobegonia": "Noted.",
        "hello from kith.test": "Hello! This page works on plain HTTP too.",
        "a second conversation": "A fresh start.",
        "tell me something long": "A longer answer. " * 40,
        "is anyone there?": "Yes, I'm here.",  # answered once the model is back (held)
    },
    learn={
        "Quokkaville": [fact("Grew up in Quokkaville")],
        "sackbut": [fact("Plays the sackbut", scope="shared")],
        "Wobegonia": [fact("Lives near Lake Wobegonia")],
    },
)


@pytest.fixture(scope="session")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Screenshots land here: $KITH_TEST_ARTEFACTS, or a directory under pytest's tmp."""
    configured = os.environ.get("KITH_TEST_ARTEFACTS")
    path = Path(configured) if configured else tmp_path_factory.mktemp("browser-artefacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with running_chromium() as endpoint, sync_playwright() as pw:
        chromium = pw.chromium.connect_over_cdp(endpoint)
        yield chromium
        chromium.close()


@pytest.fixture(scope="package")
def llm() -> Iterator[tuple[FakeLLM, str]]:
    fake = FakeLLM(reply=BRAIN)
    with running_fake_llm_sync(fake) as url:
        yield fake, url
    assert BRAIN.unexpected == [], f"the fake model got unscripted messages: {BRAIN.unexpected}"


@pytest.fixture(scope="package")
def kith(tmp_path_factory: pytest.TempPathFactory, llm: tuple[FakeLLM, str]) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("kith-serve")
    write_bot(root / "bots")
    with serving(root, llm[1], free_port()) as served:
        yield served


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1180, "height": 780})
    # Generous bounds: CI runs two workers beside real servers on two cores.
    context.set_default_timeout(60_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda err: errors.append(str(err)))
    yield tab
    context.close()
    assert errors == [], f"the page threw: {errors}"


def shot(page: Page, artefacts: Path, name: str) -> Path:
    path = artefacts / f"{name}.png"
    page.screenshot(path=str(path))
    return path
