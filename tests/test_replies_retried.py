"""Direct replies and person-to-person relays honour a 429's retry_after and retry 5xx answers (issue 10, 5)."""

from __future__ import annotations

from tests.conversation import register
from tests.harness import Harness
from tests.test_helpdesk_flow import ASKER_K, desk_bot, user  # noqa: F401 - the fixture

APOLOGY = "something went wrong"


async def test_a_reply_survives_a_bad_gateway(bot: Harness) -> None:
    person = await register(bot, 3401)
    bot.emu.inject_error(1, 502, "Bad Gateway", chat_id=person.id)
    await person.send("/help")
    assert "What I can do" in person.last.text
    assert not any(APOLOGY in (t or "") for t in person.texts)


async def test_a_reply_waits_for_retry_after(bot: Harness) -> None:
    person = await register(bot, 3402)
    bot.emu.inject_429(1, retry_after=1, chat_id=person.id)
    await person.send("/help")
    assert "What I can do" in person.last.text
    assert not any(APOLOGY in (t or "") for t in person.texts)


async def test_the_bot_api_down_before_anything_was_sent_retries_the_update(bot: Harness) -> None:
    """More 5xx answers than one call retries: nothing was sent yet, so the whole update is tried again."""
    person = await register(bot, 3403)
    bot.emu.inject_error(bot.settings.api_retries + 2, 502, "Bad Gateway", chat_id=person.id)
    await person.send("/help")
    assert "What I can do" in person.last.text
    # Exactly once: this one (registration ends with the keyboard of main actions, not the list of commands).
    assert sum("What I can do" in (t or "") for t in person.texts) == 1
    assert not any(APOLOGY in (t or "") for t in person.texts)


async def test_a_helpdesk_relay_survives_a_bad_gateway_and_a_429(desk_bot: Harness) -> None:  # noqa: F811
    bot = desk_bot
    asker = user(bot, ASKER_K)
    await asker.send("/ask")
    await asker.tap(contains="Local budget")
    await asker.send("Can the council move money between budget lines in the middle of the year?")
    bot.emu.inject_error(1, 502, "Bad Gateway", chat_id=asker.id)
    bot.emu.inject_429(1, retry_after=1, chat_id=asker.id)
    await asker.tap("Submit the question")
    assert "Your question is received: No. 1" in asker.last.text
    assert not any(APOLOGY in (t or "") for t in asker.texts)
