"""Villagers: /vote opens the ballot (or naming problems while they are collected); the ballot lets them
toggle up to five problems, check the summary, confirm, keep the receipt; /receipt checks one's own ballot."""

from __future__ import annotations

import logging

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attempt import aside
from bot.i18n import Formatter
from bot.routes import Routes
from bot.settings import Settings
from bot.text import escape
from handlers.voting import views
from handlers.voting.buttons import AttendCB, BallotCB, CollectCB, choice_from
from handlers.voting.states import Collecting
from handlers.voting.views import ballot_keyboard, ballot_text, hint, receipt_text, refusal
from services import people, voting
from services.voting import MAX_CHOICES, MAX_SUBMISSIONS, BallotEntry, VotingError
from storage.models import Person
from storage.voting import VotingRound

log = logging.getLogger("jamaat.voting")
router = Routes("voting_villager")


def log_refusal(who: int, what: str, code: str) -> None:
    log.warning("voting: refused %s from user %s: %s", what, who, code)


async def show_ballot(message: Message, session: AsyncSession, rnd: VotingRound, person: Person, language: str,
                      settings: Settings, *, positions: set[int] | None = None, edit: bool = False) -> None:
    assert person.village_id is not None
    village = await people.village_of(session, person)
    assert village is not None
    if not edit and await voting.ask_attendance(session, rnd, person):  # nobody counted twice: asked once
        attended = await voting.attendance_of(session, rnd.id, person.id)
        if attended is None:
            text, markup = views.attendance_question(rnd, village, language)
            await message.answer(text, reply_markup=markup)
            return
        if attended:
            await message.answer(refusal("attended_session"))
            return
    items = await voting.ballot_items(session, rnd, village.id)
    if positions is None:
        chosen = await voting.my_choices(session, rnd.id, person.id)
        positions = {i for i, p in enumerate(items) if p.id in chosen}
    fmt = Formatter(language, settings.zone)
    text = ballot_text(rnd, village, len(positions), language, fmt)
    markup = ballot_keyboard(rnd, village.id, items, positions, language)
    if edit:
        await aside(message.edit_text(text, reply_markup=markup))
    else:
        await message.answer(text, reply_markup=markup)


@router.message(Command("vote"))
async def on_vote(message: Message, state: FSMContext, session: AsyncSession, person: Person | None, settings: Settings,
                  i18n: I18n) -> None:
    if person is None or not person.is_registered or person.phone_hash is None:
        await message.answer(refusal("not_registered"))
        return
    rounds = await voting.open_rounds_for(session, person)
    if not rounds:
        await message.answer(_("No vote and no collection of problems is open in your village now. You will get "
                               "a message here when one starts."))
        return
    rnd = rounds[0]
    if rnd.phase == "collecting":
        await start_collecting(message, state, session, rnd, person)
    else:
        await show_ballot(message, session, rnd, person, i18n.current_locale, settings)


@router.callback_query(BallotCB.filter())
async def on_ballot(query: CallbackQuery, message: Message, callback_data: BallotCB, session: AsyncSession,
                    person: Person | None, settings: Settings, i18n: I18n) -> None:
    """Every ballot button re-checks what it claims: round, phase, village, problems, count."""
    language = i18n.current_locale
    data = callback_data
    rnd = await voting.get_round(session, data.r)
    try:
        await voting.check_ballot(session, rnd, person, data.v, [], partial=True)
        assert rnd is not None  # check_ballot refuses a missing round
        items = await voting.ballot_items(session, rnd, data.v)
        chosen = choice_from(data.m, items) if data.a != "o" else []
        await voting.check_ballot(session, rnd, person, data.v, chosen, partial=True)
        assert person is not None
        if data.a == "t":
            ids = [p.id for p in items]
            if data.p not in ids:
                raise VotingError("not_on_ballot")
            position = ids.index(data.p)
            positions = {ids.index(p) for p in chosen} ^ {position}
            if len(positions) > MAX_CHOICES:
                await query.answer(refusal("too_many", {"limit": MAX_CHOICES}), show_alert=True)
                return
            await query.answer()
            await show_ballot(message, session, rnd, person, language, settings, positions=positions, edit=True)
        elif data.a in ("o", "e"):
            await query.answer()
            positions = {i for i, p in enumerate(items) if p.id in chosen} if data.a == "e" else None
            await show_ballot(message, session, rnd, person, language, settings, positions=positions,
                              edit=data.a == "e")
        elif data.a == "s":
            if not chosen:
                await query.answer(refusal("empty"), show_alert=True)
                return
            await query.answer()
            await show_summary(message, rnd, data, items, chosen, language, settings)
        elif data.a == "c":
            result = await voting.cast_ballot(session, rnd, person, data.v, chosen)
            log.info("voting: ballot %s of round %s confirmed (version %s, changed %s)", result.ballot_id, rnd.id,
                     result.version, result.changed)
            notice = _("Your ballot is counted.") if result.changed else _("Your ballot is unchanged.")
            await aside(query.answer(notice))
            await aside(message.edit_text(receipt_text(rnd, result, items, language, settings)))
        else:
            raise VotingError("not_found")
    except VotingError as exc:
        log_refusal(query.from_user.id, query.data or "", exc.code)
        await query.answer(refusal(exc.code, exc.detail), show_alert=True)


@router.callback_query(AttendCB.filter())
async def on_attendance(query: CallbackQuery, message: Message, callback_data: AttendCB, session: AsyncSession,
                        person: Person | None, settings: Settings, i18n: I18n) -> None:
    """"Did you take part in the meeting in your village?" — a yes is counted there, not by phone."""
    rnd = await voting.get_round(session, callback_data.r)
    try:
        await voting.check_ballot(session, rnd, person, callback_data.v, [], partial=True)
        assert rnd is not None and person is not None
        attended = await voting.record_attendance(session, rnd, person, callback_data.a == "y")
    except VotingError as exc:
        log_refusal(query.from_user.id, query.data or "", exc.code)
        await query.answer(refusal(exc.code, exc.detail), show_alert=True)
        return
    await query.answer()
    if attended:
        await message.edit_text(refusal("attended_session"))
        return
    await message.edit_reply_markup(reply_markup=None)
    await show_ballot(message, session, rnd, person, i18n.current_locale, settings, positions=set())


async def show_summary(message: Message, rnd: VotingRound, data: BallotCB, items: list[BallotEntry], chosen: list[int],
                       language: str, settings: Settings) -> None:
    titles = {p.id: escape(voting.problem_title(p, language)) for p in items}
    lines = [f"<b>{escape(rnd.title)}</b>", _("You chose:")]
    lines += [f"{n}. {titles[pid]}" for n, pid in enumerate([p.id for p in items if p.id in chosen], start=1)]
    lines.append("")
    lines.append(_("Confirm your ballot? You can change it until voting closes; the last ballot you confirm "
                   "counts."))
    await aside(message.edit_text("\n".join(lines), reply_markup=views.summary_keyboard(data)))


@router.message(Command("receipt"))
async def on_receipt(message: Message, command: CommandObject, session: AsyncSession, person: Person | None,
                     settings: Settings, i18n: I18n) -> None:
    language = i18n.current_locale
    if not command.args:
        await message.answer(_("Send /receipt and the code you got when you voted, e.g. /receipt ABCD-EFGH."))
        return
    view = None if person is None else await voting.ballot_by_receipt(session, command.args, person_id=person.id)
    if view is None:
        await message.answer(_("No ballot of yours has this receipt code. Check the code and try again."))
        return
    rnd = await voting.get_round(session, view.round_id)
    assert rnd is not None
    problems = {p.id: p for p in await voting.problems_of(session, rnd.id)}
    fmt = Formatter(language, settings.zone)
    lines = [f"<b>{escape(rnd.title)}</b>",
             _("Your ballot {code} is counted, as you last confirmed it on {when}:").format(
                 code=view.receipt, when=fmt.datetime(view.changed_at)),
             *(f"• {escape(voting.problem_title(problems[pid], language))}" for pid in view.problem_ids)]
    if view.version > 1:
        lines.append(ngettext("You changed it once; only the last ballot counts.",
                              "You changed it {count} times; only the last ballot counts.",
                              view.version - 1).format(count=view.version - 1))
    await message.answer("\n".join(lines))


# Collecting problems


async def start_collecting(message: Message, state: FSMContext, session: AsyncSession, rnd: VotingRound,
                           person: Person) -> None:
    mine = await voting.submissions_of(session, rnd.id, person.id)
    lines = [f"<b>{escape(rnd.title)}</b>"]
    if rnd.description:
        lines.append(escape(rnd.description))
    lines.append(_("Which problems of your village matter most to you? Send them one per message, up to {limit}.")
                 .format(limit=MAX_SUBMISSIONS))
    lines.append(hint())
    if mine:
        lines.append(_("You have named:"))
        lines += [f"{s.slot}. {escape(s.text)}" for s in mine]
    if len(mine) >= MAX_SUBMISSIONS:
        await message.answer("\n".join([*lines, refusal("too_many_submissions", {"limit": MAX_SUBMISSIONS})]))
        return
    await state.set_state(Collecting.problem)
    await state.update_data(voting_round=rnd.id)
    await message.answer("\n".join(lines), reply_markup=views.done_keyboard(rnd.id))


@router.callback_query(CollectCB.filter(F.a == "start"))
async def on_collect_start(query: CallbackQuery, message: Message, callback_data: CollectCB, state: FSMContext,
                           session: AsyncSession, person: Person | None) -> None:
    rnd = await voting.get_round(session, callback_data.r)
    try:
        if rnd is None:
            raise VotingError("not_found")
        if rnd.phase != "collecting":
            raise VotingError("not_collecting")
        await voting.check_eligible(session, rnd, person)
    except VotingError as exc:
        log_refusal(query.from_user.id, query.data or "", exc.code)
        await query.answer(refusal(exc.code, exc.detail), show_alert=True)
        return
    assert person is not None
    await query.answer()
    await start_collecting(message, state, session, rnd, person)


@router.callback_query(CollectCB.filter(F.a == "done"))
async def on_collect_done(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    await state.clear()
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(_("Thank you. When the ballot is ready, you will get it here to vote."))


@router.message(Collecting.problem, F.text, ~F.text.startswith("/"))
async def on_problem_text(message: Message, state: FSMContext, session: AsyncSession, person: Person | None) -> None:
    assert message.text is not None
    rnd = await voting.get_round(session, int((await state.get_data()).get("voting_round") or 0))
    try:
        if rnd is None or person is None:
            raise VotingError("not_found")
        submission = await voting.submit_problem(session, rnd, person, message.text)
    except VotingError as exc:
        if exc.code in ("not_collecting", "not_found", "too_many_submissions", "not_in_round", "not_registered"):
            await state.clear()
        await message.answer(refusal(exc.code, exc.detail))
        return
    if submission.slot >= MAX_SUBMISSIONS:
        await state.clear()
        await message.answer(_("Saved: {count} of {limit}. Thank you; when the ballot is ready, you will get it "
                               "here to vote.").format(count=submission.slot, limit=MAX_SUBMISSIONS))
        return
    await message.answer(_("Saved: {count} of {limit}. Send another problem, or press Done.").format(
        count=submission.slot, limit=MAX_SUBMISSIONS), reply_markup=views.done_keyboard(rnd.id))
