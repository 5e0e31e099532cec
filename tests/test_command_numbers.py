"""Numbers in commands that do not fit the database (issue 10, 4): a clear refusal, nothing stored, no error."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.places import find_aiyl_aimak
from services.roles import Role, grant
from storage.models import RoleGrant
from tests.conversation import register
from tests.harness import ADMIN_ID, Harness

APOLOGY = "something went wrong"
TOO_BIG = ("2147483648", "99999999999999999999999999", "-9223372036854775809")
ORGANISER = 3701


@pytest.mark.parametrize("number", TOO_BIG)
async def test_oversized_numbers_in_commands_are_refused(bot: Harness, number: str) -> None:
    organiser = await register(bot, ORGANISER)
    admin = await register(bot, ADMIN_ID)
    async with bot.db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        await grant(session, ORGANISER, Role.ORGANISER, aimak.id)
        grants = await session.scalar(select(func.count()).select_from(RoleGrant))
    for text in (f"/start event_{number}", f"/start plan_{number}", f"/problem {number} - a | b",
                 f"/tag {number} local", f"/merge {number} {number}", f"/unmerge {number}", f"/ballot {number}",
                 f"/reminders {number} 24", f"/receipt {number}"):
        await organiser.send(text)
    for text in (f"/grant organiser {number} kok-irim", f"/revoke organiser {number} kok-irim", f"/roles {number}",
                 f"/member {number} staff kok-irim", f"/member remove {number}", f"/stats {number}"):
        await admin.send(text)
    for person in (organiser, admin):
        assert not any(APOLOGY in (t or "") for t in person.texts), person.dump()
    if int(number) >= 2**63 or (int(number) > 0 and bot.db.dialect == "postgresql"):  # SQLite holds int64
        assert any("This number is too large" in (t or "") for t in organiser.texts), organiser.dump()
    async with bot.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(RoleGrant)) == grants
