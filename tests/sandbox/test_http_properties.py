"""Property tests over real HTTP: escaped text is shown literally; markup never crashes."""

from __future__ import annotations

import html

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Bot, Message
from telegram.error import BadRequest

from bot.sandbox import SandboxClient

# One sandbox serves all examples of a test; each example only adds messages to it.
http_examples = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
visible = st.text(
    st.characters(
        blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\u0333\u033f\u030a"
    ),
    min_size=1,
    max_size=200,
).filter(lambda t: t.strip(" ") == t and t.strip())


async def send_or_refusal(
    bot: Bot, user: int, text: str, parse_mode: str | None = None
) -> Message | BadRequest:
    try:
        return await bot.send_message(user, text, parse_mode=parse_mode)
    except BadRequest as error:
        return error


@http_examples
@given(text=visible)
async def test_escaped_text_is_shown_literally(
    bot: Bot, client: SandboxClient, user: int, text: str
) -> None:
    sent = await bot.send_message(user, html.escape(text), parse_mode="HTML")
    assert sent.text == text
    assert sent.entities == ()
    listing = await client.messages(user, after=sent.message_id - 1)
    assert listing[0]["text"] == text


@http_examples
@given(text=st.text(min_size=1, max_size=100))
async def test_escaped_html_reads_like_plain_text(bot: Bot, user: int, text: str) -> None:
    plain = await send_or_refusal(bot, user, text)
    escaped = await send_or_refusal(bot, user, html.escape(text), parse_mode="HTML")
    if isinstance(plain, BadRequest):
        assert plain.message == "Message text is empty"
        assert isinstance(escaped, BadRequest)
        assert escaped.message == plain.message
    else:
        assert isinstance(escaped, Message)
        assert escaped.text == plain.text


@http_examples
@given(markup=st.text(alphabet="<>/&;#=\"' abiuspre-codtgqlx😀\n", min_size=1, max_size=60))
async def test_random_markup_is_accepted_or_refused_never_a_crash(
    bot: Bot, client: SandboxClient, user: int, markup: str
) -> None:
    sent = await send_or_refusal(bot, user, markup, parse_mode="HTML")
    if isinstance(sent, BadRequest):
        assert sent.message.startswith(("Can't parse entities: ", "Message text is empty"))
    else:
        assert sent.text
    assert "500" not in (await client.stats())["errors_returned"]
