"""What the organiser's voting routers share: lookups that refuse, the card refresh, results, the session entry."""

from __future__ import annotations

import logging
from datetime import datetime

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Formatter
from bot.settings import Settings
from handlers.voting import views
from handlers.voting.pickers import example_time
from handlers.voting.states import SessionEntry
from handlers.voting.views import organiser_refusal, results_text, round_card
from services import voting
from services.roles import Roles
from services.voting import VotingError
from storage.models import utcnow
from storage.voting import VotingRound

log = logging.getLogger("jamaat.voting")


def fmt_of(i18n: I18n, settings: Settings) -> Formatter:
    return Formatter(i18n.current_locale, settings.zone)


def parse_local_time(text: str, settings: Settings) -> datetime:
    """"25.03.2026 18:00" (or a date alone: 23:59) in the municipality's time zone."""
    text = text.strip()
    for pattern in ("%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text, pattern)
        except ValueError:
            continue
        if "%H" not in pattern:
            moment = moment.replace(hour=23, minute=59)
        moment = moment.replace(tzinfo=settings.zone)
        if moment <= utcnow():  # refused at once, with a time that would do
            raise VotingError("past_date", example=example_time(voting.future_example(), settings.zone))
        return moment
    raise VotingError("bad_date", value=text[:40])


async def refuse(target: Message | CallbackQuery, exc: VotingError) -> None:
    text = organiser_refusal(exc.code, exc.detail)
    user = target.from_user.id if target.from_user else 0
    log.warning("voting: organiser %s refused: %s %s", user, exc.code, exc.detail)
    if isinstance(target, CallbackQuery):
        await target.answer(text, show_alert=True)
    else:
        await target.answer(text)


async def refresh_card(message: Message, session: AsyncSession, rnd: VotingRound, language: str,
                       fmt: Formatter) -> None:
    """The round card shows the new phase and its buttons."""
    text, markup = await round_card(session, rnd, language, fmt)
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:  # not the card (e.g. an export message), or unchanged
        log.info("voting: round card not edited: %s", exc)
        await message.answer(text, reply_markup=markup)


async def send_results(message: Message, session: AsyncSession, rnd: VotingRound, language: str, fmt: Formatter, *,
                       merged: bool = True) -> None:
    results = await voting.results(session, rnd)
    text = results_text(results, language, fmt, merged=merged, detail=True)
    for start in range(0, len(text), 4000):
        await message.answer(text[start:start + 4000])
    if merged:
        from services.voting_report import chart_by_age_png, chart_png  # loaded on first use, not at start-up

        image = chart_png(results, gettext=_, language=language)
        await message.answer_photo(BufferedInputFile(image, filename="results.png"))
        by_age = chart_by_age_png(results, gettext=_, language=language)
        await message.answer_photo(BufferedInputFile(by_age, filename="results-by-age.png"))
    await message.answer(_("Export or publish:"), reply_markup=views.export_keyboard(rnd))


# Problems, tags, merges: text commands


async def round_of_problem(session: AsyncSession, roles: Roles, problem_id: int) -> VotingRound:
    from storage.voting import Problem

    problem = await session.get(Problem, problem_id)
    if problem is None:
        raise VotingError("unknown_problem", id=problem_id)
    try:
        return await voting.round_for_organiser(session, roles, problem.round_id)
    except VotingError:
        raise VotingError("unknown_problem", id=problem_id) from None


# Offline sessions in chat


async def start_session_entry(message: Message, state: FSMContext, session: AsyncSession, rnd: VotingRound,
                              language: str) -> None:
    await state.clear()
    await state.set_state(SessionEntry.village)
    await state.update_data(vr_round=rnd.id)
    villages = await voting.round_villages(session, rnd.id)
    await message.answer(_("Session result. Which village?"),
                         reply_markup=views.session_villages_keyboard(rnd.id, villages, language))
