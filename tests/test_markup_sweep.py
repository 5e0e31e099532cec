"""Text typed by people never breaks an HTML message (issue 10, 3): every flow swept with markup-bearing input,
end to end; nothing fails and the text is shown literally."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.models import utcnow
from storage.voting import VotingRound
from tests.harness import Harness
from tests.test_voting_flow import ORGANISER, notice, recent, setup_people, with_button

TITLE = "<b>Жол курулушу 2027"
PROBLEM = "<i>Ичүүчү суу жок"
PLAIN = "a & b < c"
APOLOGY = "something went wrong"


def no_apology(*people) -> None:  # noqa: ANN002
    for person in people:
        assert not any(APOLOGY in (t or "") for t in person.texts), person.dump()


@pytest.mark.xfail(strict=True, reason="handlers: one escape helper after the restructuring lands")
async def test_voting_with_markup_in_titles_and_problems(bot: Harness) -> None:
    await setup_people(bot)
    organiser = bot.user(ORGANISER, "Gulnara", language_code="en")
    await organiser.send("/newround")
    await organiser.send(TITLE)
    await organiser.send(PLAIN)
    await organiser.tap("Done")
    await organiser.send("-")
    ends = (utcnow() + timedelta(days=7)).astimezone(bot.settings.zone)
    await organiser.send(ends.strftime("%d.%m.%Y %H:%M"))
    assert "The round is created as a draft." in recent(organiser) and TITLE in recent(organiser)
    async with bot.db.session() as session:
        round_id = await session.scalar(select(VotingRound.id))
    await organiser.tap("Open collection of problems")
    aigul = bot.user(101)
    await aigul.tap("Name problems", message=await notice(aigul, "which problems of the village matter most"))
    await aigul.send(PROBLEM)
    assert aigul.last.text.startswith("Saved: 1 of 5.") and PROBLEM in aigul.last.text
    await aigul.send(PLAIN)
    await aigul.tap("Done")
    await aigul.send("/vote")
    assert PROBLEM in recent(aigul)
    await organiser.tap("Submissions")
    assert PROBLEM in recent(organiser) and PLAIN in recent(organiser)
    await organiser.send(f"/problem {round_id} - {PROBLEM} | {PROBLEM}")
    await organiser.send(f"/problem {round_id} - {PLAIN} | {PLAIN}")
    await organiser.tap("Publish the ballot and open voting",
                        message=with_button(organiser, "Publish the ballot and open voting"))
    await aigul.tap("Open the ballot", message=await notice(aigul, "Voting is open"))
    assert TITLE in aigul.last.text
    await aigul.tap(f"▫️ {PROBLEM}")
    await aigul.tap(contains="Next: check my choice (1)")
    assert PROBLEM in aigul.last.text
    await aigul.tap("✅ Confirm")
    assert "Your ballot is counted." in aigul.last.text
    await aigul.send("/vote")
    no_apology(organiser, aigul)
