"""Telegram's HTML parse mode: valid markup, UTF-16 offsets, every error class, properties."""

from __future__ import annotations

import html
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.sandbox.html_parser import EntityParseError, parse_html


def entities(markup: str, **kw: Any) -> list[dict[str, Any]]:
    return [e.to_api() for e in parse_html(markup, **kw)[1]]


def test_plain_text_has_no_entities() -> None:
    assert parse_html("hello world") == ("hello world", [])


def test_nested_tags_give_nested_entities_sorted_by_offset() -> None:
    text, found = parse_html("<b>bold <i>both</i></b> plain")
    assert text == "bold both plain"
    assert [e.to_api() for e in found] == [
        {"type": "bold", "offset": 0, "length": 9},
        {"type": "italic", "offset": 5, "length": 4},
    ]


@pytest.mark.parametrize(
    ("tag", "kind"),
    [
        ("b", "bold"),
        ("strong", "bold"),
        ("i", "italic"),
        ("em", "italic"),
        ("u", "underline"),
        ("ins", "underline"),
        ("s", "strikethrough"),
        ("strike", "strikethrough"),
        ("del", "strikethrough"),
        ("tg-spoiler", "spoiler"),
        ("code", "code"),
        ("pre", "pre"),
        ("blockquote", "blockquote"),
    ],
)
def test_each_simple_tag_maps_to_its_entity(tag: str, kind: str) -> None:
    assert parse_html(f"x <{tag}>yz</{tag}>")[0] == "x yz"
    assert entities(f"x <{tag}>yz</{tag}>") == [{"type": kind, "offset": 2, "length": 2}]


def test_span_spoiler_and_expandable_blockquote() -> None:
    assert entities('<span class="tg-spoiler">s</span>') == [
        {"type": "spoiler", "offset": 0, "length": 1}
    ]
    assert entities("<blockquote expandable>q</blockquote>") == [
        {"type": "expandable_blockquote", "offset": 0, "length": 1}
    ]


def test_pre_with_code_language_becomes_one_pre_entity() -> None:
    markup = '<pre><code class="language-python">print(1)</code></pre>'
    assert entities(markup) == [{"type": "pre", "offset": 0, "length": 8, "language": "python"}]


def test_standalone_code_cannot_carry_a_language() -> None:
    assert entities('<code class="language-python">x</code>') == [
        {"type": "code", "offset": 0, "length": 1}
    ]


def test_formatting_inside_pre_is_dropped() -> None:
    assert entities("<pre>a<b>b</b></pre>") == [{"type": "pre", "offset": 0, "length": 2}]


def test_links_and_mentions() -> None:
    user = {"id": 5, "is_bot": False, "first_name": "Client"}
    assert entities('<a href="https://example.org/a?x=1&amp;y=2">l</a>') == [
        {"type": "text_link", "offset": 0, "length": 1, "url": "https://example.org/a?x=1&y=2"}
    ]
    assert entities('<a href="tg://user?id=5">c</a>', mention={5: user}.get) == [
        {"type": "text_mention", "offset": 0, "length": 1, "user": user}
    ]
    # Telegram silently drops links it cannot use.
    assert entities('<a href="tg://user?id=6">c</a>', mention={5: user}.get) == []
    assert entities('<a href="not a link">c</a>') == []
    # Without href the text is the address; a bare domain gets http://.
    assert entities("<a>example.org</a>")[0]["url"] == "http://example.org"
    assert entities("<a href=Example.org>x</a>")[0]["url"] == "http://example.org"


def test_custom_emoji() -> None:
    assert entities('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>') == [
        {"type": "custom_emoji", "offset": 0, "length": 2, "custom_emoji_id": "5368324170671202286"}
    ]


def test_html_entities_are_decoded() -> None:
    text, found = parse_html("&lt;b&gt; &amp; &quot; &#65; &#x1F600; &#X41;")
    assert text == '<b> & " A 😀 A'
    assert found == []


def test_offsets_count_utf16_code_units() -> None:
    assert entities("😀<b>x</b>") == [{"type": "bold", "offset": 2, "length": 1}]
    assert entities("<b>😀é</b>") == [{"type": "bold", "offset": 0, "length": 3}]
    assert entities("&#x1F600;<i>y</i>") == [{"type": "italic", "offset": 2, "length": 1}]


def test_empty_tags_give_no_entity_and_tag_names_are_case_insensitive() -> None:
    assert parse_html("<b></b>x") == ("x", [])
    assert entities("<B>x</b>") == [{"type": "bold", "offset": 0, "length": 1}]
    assert entities("<b>x</>") == [{"type": "bold", "offset": 0, "length": 1}]


def test_bare_greater_than_is_accepted_like_telegram() -> None:
    assert parse_html("a > b") == ("a > b", [])


@pytest.mark.parametrize(
    ("markup", "message"),
    [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("é<foo>", 'Unsupported start tag "foo" at byte offset 2'),
        ("ab <b", "Unclosed start tag at byte offset 3"),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</i>", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b>x</B>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</B>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a href>x</a>", 'Expected equal sign in declaration of an attribute of the tag "a"'),
        ("<a =x>y</a>", 'Empty attribute name in the tag "a" at byte offset 0'),
        ("<a href=x!>y</a>", "Unexpected end of name token at byte offset 8"),
        ('<a href="x', "Unclosed start tag at byte offset 0"),
        ("<a href=", 'Unclosed start tag "a" at byte offset 0'),
        ("<tg-emoji>x</tg-emoji>", "Invalid custom emoji identifier specified"),
        ("salt & pepper", 'Character "&" at byte offset 5 does not start an HTML entity'),
        ("&lt no semicolon", 'Character "&" at byte offset 0'),
        ("&nbsp;", 'Character "&" at byte offset 0'),
        ("&#0;", 'Character "&" at byte offset 0'),
        ("&#55357;", "Text contains invalid Unicode characters after decoding HTML entities"),
    ],
)
def test_refused_markup_names_the_problem_like_telegram(markup: str, message: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(markup)
    assert str(caught.value).startswith(message)


@given(st.text())
def test_escaped_text_parses_back_to_itself(text: str) -> None:
    assert parse_html(html.escape(text)) == (text, [])


_TAGS = ["b", "i", "u", "s", "em", "strong", "ins", "del", "strike", "tg-spoiler"]
_KIND = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "del": "strikethrough",
    "strike": "strikethrough",
    "tg-spoiler": "spoiler",
}
Tree = Any


def _render(tree: Tree, offset: int, found: list[tuple[str, int, int]]) -> tuple[str, str]:
    if isinstance(tree, str):
        return html.escape(tree), tree
    tag, children = tree
    markup, plain = "", ""
    for child in children:
        child_markup, child_plain = _render(child, offset + _utf16(plain), found)
        markup += child_markup
        plain += child_plain
    if plain:
        found.append((_KIND[tag], offset, _utf16(plain)))
    return f"<{tag}>{markup}</{tag}>", plain


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


trees = st.recursive(
    st.text(max_size=5),
    lambda children: st.tuples(st.sampled_from(_TAGS), st.lists(children, max_size=3)),
    max_leaves=12,
)


@given(trees)
def test_random_nested_markup_gives_the_right_text_and_entities(tree: Tree) -> None:
    expected: list[tuple[str, int, int]] = []
    markup, plain = _render(tree, 0, expected)
    text, found = parse_html(markup)
    assert text == plain
    assert sorted((e.type, e.offset, e.length) for e in found) == sorted(expected)


@given(st.text(alphabet="<>/&;#x=\"' abiuspre-codtg" + "😀é", max_size=40))
def test_random_markup_is_parsed_or_refused_never_crashes(markup: str) -> None:
    try:
        text, found = parse_html(markup)
    except EntityParseError:
        return
    size = _utf16(text)
    for entity in found:
        assert entity.length > 0
        assert entity.offset >= 0
        assert entity.offset + entity.length <= size
