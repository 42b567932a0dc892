"""Markdown links said as plain text on channels that render no Markdown."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.kit.links import plain_links


@pytest.mark.parametrize(("text", "plain"), [
    ("See [the tide table](https://tides.example/lisbon).",
     "See the tide table (https://tides.example/lisbon)."),
    ("[https://a.example/](https://a.example/)", "https://a.example/"),
    ("two: [a](http://a.example/x) and [b](https://b.example/y?q=1#z)",
     "two: a (http://a.example/x) and b (https://b.example/y?q=1#z)"),
    ("not a link: [x](javascript:alert(1)) or [y](ftp://h/f)",
     "not a link: [x](javascript:alert(1)) or [y](ftp://h/f)"),
    ("a [list] (of things) stays", "a [list] (of things) stays"),
    ("plain https://c.example stays", "plain https://c.example stays"),
])
def test_links_become_plain(text: str, plain: str) -> None:
    assert plain_links(text) == plain


@given(st.text(max_size=300).filter(lambda t: "](" not in t))
def test_text_without_links_is_unchanged(text: str) -> None:
    assert plain_links(text) == text


@given(st.text(alphabet=st.characters(blacklist_characters="[]()\n"), min_size=1,
               max_size=40), st.from_regex(r"https://[a-z]{1,12}\.example/[a-z0-9/]{0,20}",
                                           fullmatch=True))
def test_every_link_keeps_its_url_and_is_said_once(title: str, url: str) -> None:
    out = plain_links(f"see [{title}]({url}) now")
    assert url in out and "](" not in out
    assert plain_links(out) == out
