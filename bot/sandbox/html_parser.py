"""Telegram's HTML parse mode: markup in, plain text and MessageEntity list out.

The parser walks the UTF-8 bytes like Telegram's own, so error messages carry the
same byte offsets and wording (``Unsupported start tag "foo" at byte offset 3``).
Offsets and lengths of the entities are in UTF-16 code units.

It is stricter than Telegram in one documented respect: an ``&`` that does not start
one of the supported entities (``&lt;`` ``&gt;`` ``&amp;`` ``&quot;`` or a numeric one,
each ending in ``;``) is refused instead of being shown literally, because the Bot API
documentation requires it to be escaped and a bot that forgets to escape is a bug
worth catching. A bare ``>`` is accepted, as Telegram does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SUPPORTED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del",
        "span", "tg-spoiler", "tg-emoji", "code", "pre", "blockquote",
    }
)  # fmt: skip
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}
_NAMED_ENTITIES = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
_SPACES = frozenset(b" \t\r\n\v\f\0")
_LINK_SCHEMES = ("http://", "https://", "tg://", "ton://", "ftp://")


Mention = Callable[[int], dict[str, Any] | None]


def _nobody(user_id: int) -> None:
    return None


class EntityParseError(ValueError):
    """Markup Telegram would refuse; ``str(error)`` is Telegram's message."""


@dataclass
class Entity:
    """One MessageEntity; offsets in UTF-16 code units."""

    type: str
    offset: int
    length: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        """The Bot API MessageEntity object."""
        return {"type": self.type, "offset": self.offset, "length": self.length, **self.extra}


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int
    begin: int  # position in the output buffer, for <a> without href


class _Parser:
    def __init__(self, text: str, mention: Mention):
        self.src = text.encode("utf-8")
        self.out = bytearray()
        self.utf16 = 0
        self.entities: list[Entity] = []
        self.stack: list[_OpenTag] = []
        self.mention = mention

    def at(self, pos: int) -> int:
        """The byte at ``pos``; 0 past the end, like the C string Telegram walks."""
        return self.src[pos] if pos < len(self.src) else 0

    def run(self) -> tuple[str, list[Entity]]:
        i = 0
        while i < len(self.src):
            c = self.src[i]
            if c == ord("&"):
                i = self.entity(i)
            elif c == ord("<"):
                i = self.end_tag(i) if self.at(i + 1) == ord("/") else self.start_tag(i)
            else:
                if c & 0xC0 != 0x80:
                    self.utf16 += 2 if c >= 0xF0 else 1
                self.out.append(c)
                i += 1
        if self.stack:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        try:
            plain = self.out.decode("utf-8")
        except UnicodeDecodeError:
            raise EntityParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            ) from None
        return plain, _tidy(self.entities)

    def entity(self, pos: int) -> int:
        decoded = decode_entity(self.src, pos, strict=True)
        if decoded is None:
            raise EntityParseError(
                f'Character "&" at byte offset {pos} does not start an HTML entity; '
                'escape it as "&amp;"'
            )
        char, end = decoded
        self.out += char.encode("utf-8", "surrogatepass")
        self.utf16 += 2 if ord(char) > 0xFFFF else 1
        return end

    def start_tag(self, begin: int) -> int:
        i = begin + 1
        while self.at(i) not in _SPACES and self.at(i) != ord(">"):
            i += 1
        if self.at(i) == 0:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        name = self.src[begin + 1 : i].lower().decode("utf-8", "replace")
        if name not in SUPPORTED_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {begin}')
        argument = ""
        while self.at(i) != ord(">"):
            i, attribute, value = self.attribute(i, name, begin)
            if attribute is None:
                break
            argument = _tag_argument(name, attribute, value, argument)
        if name == "span" and argument != "spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {begin}'
            )
        self.stack.append(_OpenTag(name, argument, self.utf16, len(self.out)))
        return i + 1

    def skip_spaces(self, i: int) -> int:
        while self.at(i) != 0 and self.at(i) in _SPACES:
            i += 1
        return i

    def attribute(self, i: int, tag: str, begin: int) -> tuple[int, str | None, str]:
        """Read one ``name=value`` (or a bare ``expandable``); None at the closing ``>``."""
        i = self.skip_spaces(i)
        if self.at(i) == ord(">"):
            return i, None, ""
        name_begin = i
        while self.at(i) not in _SPACES and self.at(i) not in (ord("="), ord(">")):
            i += 1
        name = self.src[name_begin:i].decode("utf-8", "replace")
        if not name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
            )
        i = self.skip_spaces(i)
        if self.at(i) != ord("="):
            if tag == "blockquote" and name == "expandable" and self.at(i) != 0:
                return i, name, ""
            if self.at(i) == 0:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
            raise EntityParseError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag}" at byte offset {begin}'
            )
        i = self.skip_spaces(i + 1)
        if self.at(i) == 0:
            raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        if self.at(i) in (ord("'"), ord('"')):
            i, value = self.quoted_value(i)
        else:
            i, value = self.name_token(i)
        if self.at(i) == 0:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        return i, name, value

    def name_token(self, i: int) -> tuple[int, str]:
        """An unquoted value: letters, digits, periods and hyphens, case-insensitive."""
        begin = i
        while _is_token_byte(self.at(i)):
            i += 1
        if self.at(i) not in _SPACES and self.at(i) != ord(">"):
            raise EntityParseError(f"Unexpected end of name token at byte offset {begin}")
        return i, self.src[begin:i].decode("ascii").lower()

    def quoted_value(self, i: int) -> tuple[int, str]:
        """A quoted value, in which entities are decoded leniently (like Telegram)."""
        quote = self.at(i)
        i += 1
        raw = bytearray()
        while self.at(i) != quote and self.at(i) != 0:
            decoded = decode_entity(self.src, i, strict=False)
            if decoded is not None:
                raw += decoded[0].encode("utf-8", "surrogatepass")
                i = decoded[1]
            else:
                raw.append(self.src[i])
                i += 1
        if self.at(i) == quote:
            i += 1
        return i, raw.decode("utf-8", "replace")

    def end_tag(self, begin: int) -> int:
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
        i = begin + 2
        while self.at(i) not in _SPACES and self.at(i) != ord(">"):
            i += 1
        end_name = self.src[begin + 2 : i].decode("utf-8", "replace")
        i = self.skip_spaces(i)
        if self.at(i) != ord(">"):
            raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
        opened = self.stack[-1]
        if end_name and end_name != opened.name:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{opened.name}>", '
                f'found "</{end_name}>"'
            )
        if self.utf16 > opened.offset:
            self.close(opened, self.utf16 - opened.offset)
        self.stack.pop()
        return i + 1

    def close(self, tag: _OpenTag, length: int) -> None:
        offset = tag.offset
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and last.offset == offset and last.length == length
        if tag.name in _SIMPLE_TAGS or tag.name == "span":
            self.entities.append(Entity(_SIMPLE_TAGS.get(tag.name, "spoiler"), offset, length))
        elif tag.name == "tg-emoji":
            if not tag.argument.isdigit() or int(tag.argument) == 0:
                raise EntityParseError("Invalid custom emoji identifier specified")
            self.entities.append(
                Entity("custom_emoji", offset, length, {"custom_emoji_id": tag.argument})
            )
        elif tag.name == "a":
            url = tag.argument or self.out[tag.begin :].decode("utf-8", "replace")
            link = self.link(url, offset, length)
            if link is not None:
                self.entities.append(link)
        elif tag.name == "pre":
            if same_span and last is not None and last.type == "code" and "language" in last.extra:
                last.type = "pre"
            else:
                self.entities.append(Entity("pre", offset, length))
        elif tag.name == "code":
            if same_span and last is not None and last.type == "pre" and tag.argument:
                last.extra["language"] = tag.argument
            else:
                extra = {"language": tag.argument} if tag.argument else {}
                self.entities.append(Entity("code", offset, length, extra))
        elif tag.name == "blockquote":
            kind = "expandable_blockquote" if tag.argument == "1" else "blockquote"
            self.entities.append(Entity(kind, offset, length))

    def link(self, url: str, offset: int, length: int) -> Entity | None:
        """A text_link or text_mention; an unusable URL is dropped, as Telegram does."""
        url = url.strip()
        lowered = url.lower()
        if lowered.startswith("tg://user?id="):
            user_id = lowered.removeprefix("tg://user?id=")
            user = self.mention(int(user_id)) if user_id.isdigit() else None
            if user is None:
                return None
            return Entity("text_mention", offset, length, {"user": user})
        if not lowered.startswith(_LINK_SCHEMES):
            if "://" in url or not url or any(ch.isspace() for ch in url) or "." not in url:
                return None
            url = f"http://{url}"
        return Entity("text_link", offset, length, {"url": url})


def _is_token_byte(byte: int) -> bool:
    return chr(byte).isascii() and (chr(byte).isalnum() or byte in (ord("."), ord("-")))


def _tag_argument(tag: str, attribute: str, value: str, current: str) -> str:
    if tag == "a" and attribute == "href":
        return value
    if tag == "code" and attribute == "class" and value.startswith("language-"):
        return value.removeprefix("language-")
    if tag == "span" and attribute == "class" and value.startswith("tg-"):
        return value.removeprefix("tg-")
    if tag == "tg-emoji" and attribute == "emoji-id":
        return value
    if tag == "blockquote" and attribute == "expandable":
        return "1"
    return current


def decode_entity(src: bytes, pos: int, *, strict: bool) -> tuple[str, int] | None:
    """Decode the HTML entity at ``src[pos]`` (an ``&``) into (character, next position).

    Telegram accepts the four named entities and numeric ones; in strict mode the
    closing ``;`` is required.
    """

    def at(k: int) -> int:
        return src[k] if k < len(src) else 0

    end = pos + 1
    if at(end) == ord("#"):
        end += 1
        digits = "0123456789"
        base = 10
        if at(end) in (ord("x"), ord("X")):
            end += 1
            digits += "abcdefABCDEF"
            base = 16
        start = end
        while at(end) and chr(at(end)) in digits:
            end += 1
        if end == start or end - pos >= 10:
            return None
        code = int(src[start:end].decode("ascii"), base)
        if code == 0 or code >= 0x10FFFF:
            return None
        char = chr(code)
    else:
        while chr(at(end)).isascii() and chr(at(end)).isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(src[pos + 1 : end])
        if named is None:
            return None
        char = named
    if at(end) == ord(";"):
        return char, end + 1
    if strict:
        return None
    return char, end


def _tidy(entities: list[Entity]) -> list[Entity]:
    """Apply Telegram's nesting rules and sort.

    A standalone ``code`` has no language; nothing nests inside ``pre``/``code`` except
    formatting spanning exactly the same text.
    """
    for entity in entities:
        if entity.type == "code":
            entity.extra.pop("language", None)
    blocks = [e for e in entities if e.type in ("code", "pre")]

    def nested_in(e: Entity, b: Entity) -> bool:
        if b is e or not b.offset <= e.offset <= e.offset + e.length <= b.offset + b.length:
            return False
        if (b.offset, b.length) != (e.offset, e.length):
            return True
        return e.type == "code" and b.type == "pre"

    def inside_block(e: Entity) -> bool:
        return any(nested_in(e, b) for b in blocks)

    kept = [e for e in entities if not inside_block(e)]
    return sorted(kept, key=lambda e: (e.offset, -e.length))


def parse_html(text: str, mention: Mention | None = None) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML ``text`` into (plain text, entities).

    ``mention`` returns the User object for a ``tg://user?id=`` link (None: unknown).
    Raises :class:`EntityParseError` with Telegram's message for refused markup.
    """
    return _Parser(text, mention or _nobody).run()
