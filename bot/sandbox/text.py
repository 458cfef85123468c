"""Message texts and captions as Telegram stores them.

A text goes through the parse mode (or explicit entities), then through Telegram's
clean-up: control characters become spaces, ``\\r`` and a few invisible marks are
removed, entities holding only whitespace are dropped, and leading and trailing
spaces and newlines are trimmed. The length limits apply to what is left, counted
in Unicode code points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.sandbox.errors import bad_request
from bot.sandbox.html_parser import Entity, EntityParseError, Mention, parse_html

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
# Line/paragraph separators and bidi overrides, and three combining marks Telegram strips.
_REMOVED = frozenset({*range(0x2028, 0x202F), 0x0333, 0x033F, 0x030A})
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@/])")
_ENTITY_TYPES = frozenset(
    {
        "mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number",
        "bold", "italic", "underline", "strikethrough", "spoiler", "blockquote",
        "expandable_blockquote", "code", "pre", "text_link", "text_mention", "custom_emoji",
    }
)  # fmt: skip


@dataclass(frozen=True)
class FormattedText:
    """A text as stored on a message: plain text plus Bot API entity objects."""

    text: str
    entities: tuple[dict[str, Any], ...] = ()

    def entities_list(self) -> list[dict[str, Any]]:
        """The entities as a fresh list for a response."""
        return [dict(e) for e in self.entities]


def utf16_length(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of entity offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _utf16_slice(text: str, start: int, end: int) -> str:
    units = text.encode("utf-16-le", "surrogatepass")
    return units[2 * start : 2 * end].decode("utf-16-le", "replace")


def parse_formatted(
    raw: str,
    parse_mode: str | None,
    explicit_entities: Any,
    *,
    mention: Mention | None = None,
) -> tuple[str, list[Entity]]:
    """Apply ``parse_mode`` (only HTML is emulated) or the explicit entity list."""
    if explicit_entities is not None:
        return raw, _explicit_entities(raw, explicit_entities)
    mode = (parse_mode or "").strip().lower()
    if not mode:
        return raw, []
    if mode != "html":
        raise bad_request("unsupported parse_mode")
    try:
        return parse_html(raw, mention)
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None


def _explicit_entities(text: str, value: Any) -> list[Entity]:
    if not isinstance(value, list):
        raise bad_request("can't parse entities JSON object")
    size = utf16_length(text)
    entities = []
    for item in value:
        if not isinstance(item, dict) or item.get("type") not in _ENTITY_TYPES:
            raise bad_request("can't parse MessageEntity: Unsupported type specified")
        offset, length = item.get("offset"), item.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            raise bad_request('can\'t parse MessageEntity: Field "offset" must be of type Integer')
        if offset < 0 or length <= 0 or offset + length > size:
            continue
        extra = {k: v for k, v in item.items() if k not in {"type", "offset", "length"}}
        entities.append(Entity(item["type"], offset, length, extra))
    return sorted(entities, key=lambda e: (e.offset, -e.length))


def clean(text: str, entities: list[Entity]) -> FormattedText:
    """Telegram's clean-up of a parsed text; the result may be empty."""
    out: list[str] = []
    new_at: list[int] = []  # new UTF-16 offset for each old UTF-16 offset
    new16 = 0
    for ch in text:
        code = ord(ch)
        width = 2 if code > 0xFFFF else 1
        new_at.extend([new16] * width)
        if ch == "\r" or code in _REMOVED:
            continue
        if code < 32 and ch != "\n":
            out.append(" ")
            new16 += 1
        else:
            out.append(ch)
            new16 += width
    new_at.append(new16)
    cleaned = "".join(out)

    moved: list[Entity] = []
    for e in entities:
        start, end = new_at[e.offset], new_at[min(e.offset + e.length, len(new_at) - 1)]
        if end > start and _utf16_slice(cleaned, start, end).strip(" \n"):
            moved.append(Entity(e.type, start, end - start, e.extra))

    stripped_right = cleaned.rstrip(" \n")
    limit = utf16_length(stripped_right)
    clipped = []
    for e in moved:
        end = min(e.offset + e.length, limit)
        if end > e.offset:
            clipped.append(Entity(e.type, e.offset, end - e.offset, e.extra))

    first_entity = min((e.offset for e in clipped), default=limit)
    lead = len(stripped_right) - len(stripped_right.lstrip(" \n"))
    lead = min(lead, first_entity)
    final = stripped_right[lead:]
    shifted = tuple(Entity(e.type, e.offset - lead, e.length, e.extra).to_api() for e in clipped)
    return FormattedText(final, shifted)


def message_text(
    raw: str | None,
    parse_mode: str | None,
    explicit_entities: Any = None,
    *,
    mention: Mention | None = None,
) -> FormattedText:
    """A message text for sendMessage/editMessageText, validated like Telegram."""
    if raw is None or raw == "":
        raise bad_request("message text is empty")
    plain, entities = parse_formatted(raw, parse_mode, explicit_entities, mention=mention)
    formatted = clean(plain, entities)
    if not formatted.text:
        raise bad_request("message text is empty")
    if len(formatted.text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return formatted


def caption_text(
    raw: str | None,
    parse_mode: str | None,
    explicit_entities: Any = None,
    *,
    mention: Mention | None = None,
) -> FormattedText | None:
    """An optional media caption; None when there is none after clean-up."""
    if raw is None or raw == "":
        return None
    plain, entities = parse_formatted(raw, parse_mode, explicit_entities, mention=mention)
    formatted = clean(plain, entities)
    if not formatted.text:
        return None
    if len(formatted.text) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return formatted


def user_text(text: str) -> FormattedText:
    """Text typed by a user: a leading ``/command`` gets its ``bot_command`` entity."""
    match = _COMMAND.match(text)
    if match is None:
        return FormattedText(text)
    entity = {"type": "bot_command", "offset": 0, "length": utf16_length(match.group())}
    return FormattedText(text, (entity,))
