"""Organisers edit the collected problems (/problem, /tag, /merge, /unmerge), set reminders and look up a ballot."""

from __future__ import annotations

import re

from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.routes import Routes
from bot.settings import Settings
from bot.text import escape
from handlers.voting.common import fmt_of, refuse, round_of_problem
from handlers.voting.views import competence_label
from jobs.voting import schedule_round_tasks
from services import voting
from services.places import place_name
from services.roles import Role, Roles
from services.voting import VotingError
from storage.models import Village

router = Routes("voting_problems")
router.message.filter(HasRole(Role.ORGANISER))


@router.message(Command("problem"))
async def on_problem(message: Message, command: CommandObject, session: AsyncSession, roles: Roles, i18n: I18n) -> None:
    assert message.from_user is not None
    match = re.fullmatch(r"\s*(\d+)\s+([\d,]+\*?|-)\s+(.+)", command.args or "", re.S)
    if not match:
        await message.answer(_("Use: /problem ROUND SUBMISSIONS TITLE_KY | TITLE_RU, e.g. /problem 3 4,7,9 Ичүүчү "
                               "суу жок | Нет питьевой воды. The problem goes on the ballots of the submissions' "
                               "villages; add “*” after the numbers (4,7,9*) to put it on every village's ballot, or "
                               "use “-” instead of numbers for a problem without submissions, on every ballot."))
        return
    try:
        rnd = await voting.round_for_organiser(session, roles, int(match.group(1)))
        ids = [int(x) for x in re.findall(r"\d+", match.group(2))]
        title_ky, title_ru = voting.split_titles(match.group(3))
        problem = await voting.add_problem(session, rnd, title_ky=title_ky, title_ru=title_ru, submission_ids=ids,
                                           all_villages=not ids or match.group(2).endswith("*"),
                                           by=message.from_user.id)
    except VotingError as exc:
        await refuse(message, exc)
        return
    await message.answer(_("Problem #{id} added: {title}.").format(
        id=problem.id, title=escape(voting.problem_title(problem, i18n.current_locale))))


@router.message(Command("tag"))
async def on_tag(message: Message, command: CommandObject, session: AsyncSession, roles: Roles) -> None:
    assert message.from_user is not None
    parts = (command.args or "").split(maxsplit=1)  # the tag in the organiser's words: "өткөрүлүп берилген"
    if len(parts) != 2 or not parts[0].lstrip("#").isdigit():
        await message.answer(_("Use: /tag PROBLEM local|delegated|outside"))
        return
    try:
        rnd = await round_of_problem(session, roles, int(parts[0].lstrip("#")))
        problem = await voting.tag_problem(session, rnd, int(parts[0].lstrip("#")), voting.parse_competence(parts[1]),
                                           by=message.from_user.id)
    except VotingError as exc:
        await refuse(message, exc)
        return
    await message.answer(_("Problem #{id}: {competence}.").format(id=problem.id,
                                                                   competence=competence_label(problem.competence)))


@router.message(Command("merge"))
async def on_merge(message: Message, command: CommandObject, session: AsyncSession, roles: Roles, i18n: I18n) -> None:
    assert message.from_user is not None
    parts = [p.lstrip("#") for p in (command.args or "").split()]
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        await message.answer(_("Use: /merge PROBLEM INTO_PROBLEM, e.g. /merge 12 7 counts #12 with #7."))
        return
    try:
        rnd = await round_of_problem(session, roles, int(parts[0]))
        merge = await voting.merge_problems(session, rnd, int(parts[0]), int(parts[1]), by=message.from_user.id)
    except VotingError as exc:
        await refuse(message, exc)
        return
    await message.answer(_("Merge {id}: #{source} is now counted with #{target}. /unmerge {id} undoes it.").format(
        id=merge.id, source=merge.source_id, target=merge.target_id))


@router.message(Command("unmerge"))
async def on_unmerge(message: Message, command: CommandObject, session: AsyncSession, roles: Roles) -> None:
    assert message.from_user is not None
    arg = (command.args or "").strip().lstrip("#")
    if not arg.isdigit():
        await message.answer(_("Use: /unmerge MERGE (the number /merge gave)."))
        return
    from storage.voting import ProblemMerge

    try:
        merge = await session.get(ProblemMerge, int(arg))
        if merge is None:
            raise VotingError("unknown_merge", id=int(arg))
        try:
            rnd = await voting.round_for_organiser(session, roles, merge.round_id)
        except VotingError:
            raise VotingError("unknown_merge", id=int(arg)) from None
        await voting.undo_merge(session, rnd, merge.id, by=message.from_user.id)
    except VotingError as exc:
        await refuse(message, exc)
        return
    await message.answer(_("Merge {id} is undone; #{source} is counted on its own again.").format(
        id=merge.id, source=merge.source_id))


@router.message(Command("reminders"))
async def on_reminders(message: Message, command: CommandObject, session: AsyncSession, roles: Roles) -> None:
    match = re.fullmatch(r"\s*(\d+)\s+(\S.*)", command.args or "", re.S)
    if not match:
        await message.answer(_("Use: /reminders ROUND HOURS, e.g. /reminders 3 48,24,2 reminds those who have not "
                               "voted 48, 24 and 2 hours before the close."))
        return
    try:
        rnd = await voting.round_for_organiser(session, roles, int(match.group(1)))
        hours = voting.set_reminders(rnd, voting.parse_reminder_hours(match.group(2)))  # 48,24,2 or 2d, 2h or 1к
        if rnd.phase == "voting":
            await schedule_round_tasks(session, rnd)
    except VotingError as exc:
        await refuse(message, exc)
        return
    await message.answer(_("Reminders: {hours} hours before the close.").format(
        hours=", ".join(str(h) for h in hours)))


@router.message(Command("ballot"))
async def on_ballot_lookup(message: Message, command: CommandObject, session: AsyncSession, roles: Roles,
                           settings: Settings, i18n: I18n) -> None:
    """“Was my vote counted?”: a ballot's history by its receipt code, in the organiser's aiyl aimaks."""
    language, fmt = i18n.current_locale, fmt_of(i18n, settings)
    view = await voting.ballot_by_receipt(session, command.args or "", aiyl_aimak_ids=roles.organiser_of)
    if view is None:
        await message.answer(_("No ballot with this receipt code in your aiyl aimaks."))
        return
    problems = {p.id: p for p in await voting.problems_of(session, view.round_id)}
    village = await session.get(Village, view.village_id)
    lines = [_("Ballot {code}, {village}: counted, version {version}.").format(
        code=view.receipt, village=place_name(village, language) if village else "?", version=view.version)]
    for version, at, ids in view.history:
        titles = "; ".join(escape(voting.problem_title(problems[p], language)) for p in ids if p in problems)
        lines.append(f"{version}. {fmt.datetime(at)}: {titles}")
    await message.answer("\n".join(lines))
