import messages
from bot.services.practice.practitioners import ensure_configured
from tests.fakes import FixedClock
from tests.handlers.conftest import GUEST_ID, PRACTITIONER_ID, Harness


async def test_guest_start_explains_the_invite(harness: Harness) -> None:
    [answer] = await harness.send(GUEST_ID, "/start")
    assert answer == messages.render("start.guest", "en", name="User")


async def test_practitioner_start_is_recognised_and_remembers_the_name(harness: Harness) -> None:
    await ensure_configured(
        harness.db, [PRACTITIONER_ID], timezone="UTC", locale="en", clock=FixedClock()
    )
    [answer] = await harness.send(PRACTITIONER_ID, "/start")
    assert answer == messages.render("start.practitioner", "en", name="User")
    stored = await harness.db.practitioners.by_telegram_id(PRACTITIONER_ID)
    assert stored is not None
    assert stored.display_name == "User"


async def test_help_depends_on_the_role(harness: Harness) -> None:
    [guest] = await harness.send(GUEST_ID, "/help")
    [practitioner] = await harness.send(PRACTITIONER_ID, "/help")
    assert guest == messages.render("help.guest")
    assert practitioner == messages.render("help.practitioner")


async def test_privacy_says_what_is_kept_and_how_to_erase(harness: Harness) -> None:
    [answer] = await harness.send(GUEST_ID, "/privacy")
    assert "/stop" in answer
    assert "/erase" in answer
    assert "Only your own practitioner" in answer


async def test_replies_use_html_parse_mode(harness: Harness) -> None:
    await harness.send(GUEST_ID, "/privacy")
    call = harness.request.calls[-1]
    assert call.method == "sendMessage"
    assert call.params["parse_mode"] == "HTML"
    assert call.params["chat_id"] == GUEST_ID
