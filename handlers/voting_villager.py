"""Priority voting for villagers: /vote names problems while collecting and opens the ballot while voting,
toggle up to five problems, check the summary, confirm, keep the receipt; /receipt checks one's own ballot."""

from __future__ import annotations

import logging

from aiogram import F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Formatter
from bot.routes import Routes
from bot.settings import Settings
from services import voting
from services.places import place_name
from services.voting import MAX_CHOICES, MAX_SUBMISSIONS, VotingError
from storage.models import Person, Village
from storage.voting import Problem, VotingRound

log = logging.getLogger("jamaat.voting")
router = Routes("voting_villager")


class BallotCB(CallbackData, prefix="vb"):
    """A ballot button: ``a`` open / toggle / summary / edit / confirm, round, village, the choice so far as a
    bit mask of ballot positions (hex), and the problem a toggle is about."""

    a: str
    r: int
    v: int
    m: str = "0"
    p: int = 0


class CollectCB(CallbackData, prefix="vc"):
    a: str  # "start" or "done"
    r: int


class Collecting(StatesGroup):
    problem = State()


def refusal(code: str, detail: dict | None = None) -> str:
    """What a villager reads when the rules refuse a step."""
    detail = detail or {}
    texts = {
        "not_found": _("This vote is no longer active."),
        "not_voting": _("Voting in this round has not started or is no longer open."),
        "not_collecting": _("Problems are not being collected in this round now."),
        "closed": _("Voting in this round has closed, so ballots can no longer be cast or changed. If you confirmed "
                    "a ballot before the close, it is counted."),
        "other_village": _("This ballot is for another village. You can vote only in your own village."),
        "not_in_round": _("Your village does not take part in this round."),
        "not_registered": _("Please register with /start and share your phone number first; then you can take "
                            "part."),
        "not_on_ballot": _("This problem is not on your village's ballot."),
        "too_many": _("You can choose at most {limit} problems. Remove one first.").format(
            limit=detail.get("limit", MAX_CHOICES)),
        "duplicate": _("Each problem can be chosen only once."),
        "empty": _("Choose at least one problem."),
        "too_short": _("Please describe the problem in a few words."),
        "too_long": _("Please keep it shorter: {limit} characters at most.").format(limit=detail.get("limit", 300)),
        "too_many_submissions": _("You have already named {limit} problems, the most one person can.").format(
            limit=detail.get("limit", MAX_SUBMISSIONS)),
    }
    return texts.get(code, _("This button is no longer active."))


def log_refusal(who: int, what: str, code: str) -> None:
    log.warning("voting: refused %s from user %s: %s", what, who, code)


def hint() -> str:
    return _("State a problem, not a solution: write “no safe drinking water”, not “buy a pump”.")


# The ballot


def mask_of(positions: set[int]) -> str:
    return format(sum(1 << p for p in positions), "x")


def positions_of(mask: str) -> set[int]:
    try:
        value = int(mask, 16)
    except ValueError:
        raise VotingError("not_on_ballot") from None
    if value < 0:
        raise VotingError("not_on_ballot")
    return {bit for bit in range(value.bit_length()) if value >> bit & 1}


def choice_from(mask: str, items: list[Problem]) -> list[int]:
    positions = positions_of(mask)
    if len(positions) > MAX_CHOICES:
        raise VotingError("too_many", limit=MAX_CHOICES)
    if any(p >= len(items) for p in positions):
        raise VotingError("not_on_ballot")
    return [items[p].id for p in sorted(positions)]


def ballot_text(rnd: VotingRound, village: Village, chosen: int, language: str, fmt: Formatter) -> str:
    lines = [f"<b>{rnd.title}</b>",
             _("Ballot of {village}. Choose up to {limit} problems that matter most to you, one vote each.").format(
                 village=place_name(village, language), limit=MAX_CHOICES)]
    if rnd.vote_ends_at is not None:
        lines.append(_("Voting closes on {when}.").format(when=fmt.datetime(rnd.vote_ends_at)))
    lines.append(_("Chosen: {count} of {limit}.").format(count=chosen, limit=MAX_CHOICES))
    return "\n".join(lines)


def ballot_keyboard(rnd: VotingRound, village_id: int, items: list[Problem], positions: set[int],
                    language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    mask = mask_of(positions)
    for index, problem in enumerate(items):
        mark = "✅" if index in positions else "▫️"
        builder.button(text=f"{mark} {voting.problem_title(problem, language)}",
                       callback_data=BallotCB(a="t", r=rnd.id, v=village_id, m=mask, p=problem.id))
    builder.button(text=_("Next: check my choice ({count})").format(count=len(positions)),
                   callback_data=BallotCB(a="s", r=rnd.id, v=village_id, m=mask))
    builder.adjust(1)
    return builder.as_markup()


async def show_ballot(message: Message, session: AsyncSession, rnd: VotingRound, person: Person, language: str,
                      settings: Settings, *, positions: set[int] | None = None, edit: bool = False) -> None:
    assert person.village_id is not None
    village = await session.get(Village, person.village_id)
    assert village is not None
    items = await voting.ballot_items(session, rnd.id, village.id)
    if positions is None:
        mine = await voting.my_ballot(session, rnd.id, person.id)
        chosen = set(mine.problem_ids) if mine else set()
        positions = {i for i, p in enumerate(items) if p.id in chosen}
    fmt = Formatter(language, settings.zone)
    text = ballot_text(rnd, village, len(positions), language, fmt)
    markup = ballot_keyboard(rnd, village.id, items, positions, language)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


@router.message(Command("vote"))
async def on_vote(message: Message, state: FSMContext, session: AsyncSession, person: Person | None,
                  settings: Settings, i18n: I18n) -> None:
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
async def on_ballot(query: CallbackQuery, callback_data: BallotCB, session: AsyncSession, person: Person | None,
                    settings: Settings, i18n: I18n) -> None:
    """Every ballot button re-checks what it claims: round, phase, village, problems, count."""
    assert isinstance(query.message, Message)
    language = i18n.current_locale
    data = callback_data
    rnd = await voting.get_round(session, data.r)
    try:
        await voting.check_ballot(session, rnd, person, data.v, [], partial=True)
        items = await voting.ballot_items(session, data.r, data.v)
        chosen = choice_from(data.m, items) if data.a != "o" else []
        await voting.check_ballot(session, rnd, person, data.v, chosen, partial=True)
        assert rnd is not None and person is not None
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
            await show_ballot(query.message, session, rnd, person, language, settings, positions=positions, edit=True)
        elif data.a in ("o", "e"):
            await query.answer()
            positions = {i for i, p in enumerate(items) if p.id in chosen} if data.a == "e" else None
            await show_ballot(query.message, session, rnd, person, language, settings, positions=positions,
                              edit=data.a == "e")
        elif data.a == "s":
            if not chosen:
                await query.answer(refusal("empty"), show_alert=True)
                return
            await query.answer()
            await show_summary(query.message, rnd, data, items, chosen, language, settings)
        elif data.a == "c":
            result = await voting.cast_ballot(session, rnd, person, data.v, chosen)
            log.info("voting: ballot %s of round %s confirmed (version %s, changed %s)", result.ballot_id, rnd.id,
                     result.version, result.changed)
            await query.answer(_("Your ballot is counted.") if result.changed else _("Your ballot is unchanged."))
            try:
                await query.message.edit_text(receipt_text(rnd, result, items, language, settings))
            except TelegramBadRequest:  # the same receipt again: nothing to change
                pass
        else:
            raise VotingError("not_found")
    except VotingError as exc:
        log_refusal(query.from_user.id, query.data or "", exc.code)
        await query.answer(refusal(exc.code, exc.detail), show_alert=True)


async def show_summary(message: Message, rnd: VotingRound, data: BallotCB, items: list[Problem], chosen: list[int],
                       language: str, settings: Settings) -> None:
    titles = {p.id: voting.problem_title(p, language) for p in items}
    lines = [f"<b>{rnd.title}</b>", _("You chose:")]
    lines += [f"{n}. {titles[pid]}" for n, pid in enumerate([p.id for p in items if p.id in chosen], start=1)]
    lines.append("")
    lines.append(_("Confirm your ballot? You can change it until voting closes; the last ballot you confirm "
                   "counts."))
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Confirm"), callback_data=BallotCB(a="c", r=data.r, v=data.v, m=data.m))
    builder.button(text=_("✏️ Change"), callback_data=BallotCB(a="e", r=data.r, v=data.v, m=data.m))
    builder.adjust(2)
    await message.edit_text("\n".join(lines), reply_markup=builder.as_markup())


def receipt_text(rnd: VotingRound, result: voting.CastResult, items: list[Problem], language: str,
                 settings: Settings) -> str:
    titles = {p.id: voting.problem_title(p, language) for p in items}
    lines = [f"<b>{rnd.title}</b>",
             _("Your ballot is counted.") if result.changed else _("Your ballot is unchanged."),
             *(f"• {titles.get(pid, '?')}" for pid in result.problem_ids), "",
             _("Receipt code: <code>{code}</code>. Keep it: /receipt {code} shows your ballot. You can change your "
               "ballot with /vote until voting closes.").format(code=result.receipt)]
    return "\n".join(lines)


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
    lines = [f"<b>{rnd.title}</b>",
             _("Your ballot {code} is counted, as you last confirmed it on {when}:").format(
                 code=view.receipt, when=fmt.datetime(view.changed_at)),
             *(f"• {voting.problem_title(problems[pid], language)}" for pid in view.problem_ids)]
    if view.version > 1:
        lines.append(_("You changed it {count} times; only the last ballot counts.").format(count=view.version - 1))
    await message.answer("\n".join(lines))


# Collecting problems


async def start_collecting(message: Message, state: FSMContext, session: AsyncSession, rnd: VotingRound,
                           person: Person) -> None:
    mine = await voting.submissions_of(session, rnd.id, person.id)
    lines = [f"<b>{rnd.title}</b>"]
    if rnd.description:
        lines.append(rnd.description)
    lines.append(_("Which problems of your village matter most to you? Send them one per message, up to {limit}.")
                 .format(limit=MAX_SUBMISSIONS))
    lines.append(hint())
    if mine:
        lines.append(_("You have named:"))
        lines += [f"{s.slot}. {s.text}" for s in mine]
    if len(mine) >= MAX_SUBMISSIONS:
        await message.answer("\n".join([*lines, refusal("too_many_submissions", {"limit": MAX_SUBMISSIONS})]))
        return
    await state.set_state(Collecting.problem)
    await state.update_data(voting_round=rnd.id)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Done"), callback_data=CollectCB(a="done", r=rnd.id))
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


@router.callback_query(CollectCB.filter(F.a == "start"))
async def on_collect_start(query: CallbackQuery, callback_data: CollectCB, state: FSMContext, session: AsyncSession,
                           person: Person | None) -> None:
    assert isinstance(query.message, Message)
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
    await start_collecting(query.message, state, session, rnd, person)


@router.callback_query(CollectCB.filter(F.a == "done"))
async def on_collect_done(query: CallbackQuery, state: FSMContext) -> None:
    assert isinstance(query.message, Message)
    await state.clear()
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(_("Thank you. When the ballot is ready, you will get it here to vote."))


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
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Done"), callback_data=CollectCB(a="done", r=rnd.id))
    if submission.slot >= MAX_SUBMISSIONS:
        await state.clear()
        await message.answer(_("Saved: {count} of {limit}. Thank you; when the ballot is ready, you will get it "
                               "here to vote.").format(count=submission.slot, limit=MAX_SUBMISSIONS))
        return
    await message.answer(_("Saved: {count} of {limit}. Send another problem, or press Done.").format(
        count=submission.slot, limit=MAX_SUBMISSIONS), reply_markup=builder.as_markup())
