"""Organisers work with buttons: group villagers' submissions into a named problem, merge problems (everywhere or
in one village) and undo merges, tag problems, by picking from lists and confirming. The typed commands
(/problem, /merge, /unmerge, /tag) stay as shortcuts."""

from __future__ import annotations

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.routes import Routes
from handlers.voting import pickers
from handlers.voting.buttons import PickCB
from handlers.voting.common import refuse
from handlers.voting.states import Picking
from handlers.voting.views import competence_label
from services import voting
from services.roles import Role, Roles
from services.voting import VotingError
from storage.models import Village
from storage.voting import ProblemMerge, VotingRound

router = Routes("voting_tapping")
router.message.filter(HasRole(Role.ORGANISER))


async def _unassigned(session: AsyncSession, rnd: VotingRound) -> list:
    grouped = await voting.submissions_by_village(session, rnd.id)
    return [s for items in grouped.values() for s in items if s.problem_id is None]


async def _villages(session: AsyncSession, rnd: VotingRound) -> dict[int, Village]:
    return {v.id: v for v in await voting.round_villages(session, rnd.id)}


@router.callback_query(PickCB.filter())
async def on_pick(query: CallbackQuery, message: Message, callback_data: PickCB, state: FSMContext,
                  session: AsyncSession, roles: Roles, i18n: I18n) -> None:
    language, step, item = i18n.current_locale, callback_data.a, callback_data.id
    by = query.from_user.id
    try:
        rnd = await voting.round_for_organiser(session, roles, callback_data.r)
        data = await state.get_data()
        if data.get("vp_round") not in (None, rnd.id) and step not in ("g", "m", "u", "t"):
            raise VotingError("not_found")  # a list of another round: start again from its problems
        if step == "x":
            await state.update_data(vp_round=None, vp_subs=[], vp_source=None, vp_target=None, vp_problem=None)
            if await state.get_state() == Picking.title.state:
                await state.set_state(None)
            await query.answer(_("Cancelled."))
            await message.edit_reply_markup(reply_markup=None)
        elif step in ("g", "gs"):
            chosen = set(data.get("vp_subs", [])) if step == "gs" else set()
            submissions = await _unassigned(session, rnd)
            if not submissions:
                await query.answer(_("Every submission is already grouped into a problem."), show_alert=True)
                return
            if step == "gs":
                if item not in {s.id for s in submissions}:
                    raise VotingError("unknown_submission")
                chosen ^= {item}
            await state.update_data(vp_round=rnd.id, vp_subs=sorted(chosen))
            await query.answer()
            text, markup = pickers.submissions_picker(rnd, submissions, chosen, await _villages(session, rnd),
                                                      language)
            if step == "g":
                await message.answer(text, reply_markup=markup)
            else:
                await message.edit_reply_markup(reply_markup=markup)
        elif step == "gn":
            chosen = data.get("vp_subs", [])
            if not chosen:
                await query.answer(_("Tap at least one submission first."), show_alert=True)
                return
            await query.answer()
            await state.set_state(Picking.title)
            await message.answer(pickers.title_prompt(len(chosen)))
        elif step in ("m", "ms"):
            problems = await voting.problems_of(session, rnd.id)
            await query.answer()
            if step == "m":
                await state.update_data(vp_round=rnd.id, vp_source=None, vp_target=None)
                await message.answer(pickers.pick_source_text(),
                                     reply_markup=pickers.problems_picker(rnd, problems, "ms", language))
                return
            source = await voting.problem_in_round(session, rnd.id, item)
            await state.update_data(vp_source=source.id)
            await message.answer(pickers.pick_target_text(source, language),
                                 reply_markup=pickers.problems_picker(rnd, problems, "mt", language, skip=source.id))
        elif step in ("mt", "mw"):
            source = await voting.problem_in_round(session, rnd.id, int(data.get("vp_source") or 0))
            target = await voting.problem_in_round(session, rnd.id, item if step == "mt" else
                                                   int(data.get("vp_target") or 0))
            await state.update_data(vp_target=target.id)
            villages = await _villages(session, rnd)
            await query.answer()
            if step == "mt" and len(villages) > 1:
                text, markup = pickers.where_picker(rnd, list(villages.values()), language)
                await message.answer(text, reply_markup=markup)
                return
            village = villages.get(item) if step == "mw" else None
            if step == "mw" and item and village is None:
                raise VotingError("not_in_round")
            await message.answer(pickers.merge_question(source, target, village, language),
                                 reply_markup=pickers.confirm(rnd, "mok", _("Merge"), village.id if village else 0))
        elif step == "mok":
            source_id, target_id = int(data.get("vp_source") or 0), int(data.get("vp_target") or 0)
            merge = await voting.merge_problems(session, rnd, source_id, target_id, by=by, village_id=item or None)
            await state.update_data(vp_source=None, vp_target=None)
            await query.answer()
            await message.edit_reply_markup(reply_markup=None)
            await message.answer(_("Merge {id}: #{source} is now counted with #{target}. /unmerge {id} undoes it.")
                                 .format(id=merge.id, source=merge.source_id, target=merge.target_id))
        elif step == "u":
            merges = [m for m in await voting.merges_of(session, rnd.id) if m.undone_at is None]
            if not merges:
                await query.answer(_("No merges to undo."), show_alert=True)
                return
            await query.answer()
            await state.update_data(vp_round=rnd.id)
            problems = {p.id: p for p in await voting.problems_of(session, rnd.id)}
            await message.answer(_("Which merge is to be undone?"), reply_markup=pickers.merges_picker(
                rnd, merges, problems, await _villages(session, rnd), language))
        elif step in ("uk", "uok"):
            merge = await session.get(ProblemMerge, item)
            if merge is None or merge.round_id != rnd.id:
                raise VotingError("unknown_merge", id=item)
            await query.answer()
            if step == "uk":
                await message.answer(_("Undo merge {id}? #{source} is counted on its own again.").format(
                    id=merge.id, source=merge.source_id), reply_markup=pickers.confirm(rnd, "uok", _("Undo"), merge.id))
                return
            await voting.undo_merge(session, rnd, merge.id, by=by)
            await message.edit_reply_markup(reply_markup=None)
            await message.answer(_("Merge {id} is undone; #{source} is counted on its own again.").format(
                id=merge.id, source=merge.source_id))
        elif step in ("t", "tp"):
            await query.answer()
            if step == "t":
                await state.update_data(vp_round=rnd.id)
                await message.answer(_("Which problem is to be tagged?"), reply_markup=pickers.problems_picker(
                    rnd, await voting.problems_of(session, rnd.id), "tp", language))
                return
            problem = await voting.problem_in_round(session, rnd.id, item)
            await state.update_data(vp_problem=problem.id)
            text, markup = pickers.competence_picker(rnd, problem, language)
            await message.answer(text, reply_markup=markup)
        elif step == "tc":
            if not 0 <= item < len(voting.COMPETENCES):
                raise VotingError("bad_competence")
            problem = await voting.tag_problem(session, rnd, int(data.get("vp_problem") or 0),
                                               voting.COMPETENCES[item], by=by)
            await query.answer()
            await message.edit_reply_markup(reply_markup=None)
            await message.answer(_("Problem #{id}: {competence}.").format(
                id=problem.id, competence=competence_label(problem.competence)))
        else:
            raise VotingError("not_found")
    except VotingError as exc:
        await refuse(query, exc)


@router.message(Picking.title, F.text, ~F.text.startswith("/"))
async def on_group_title(message: Message, state: FSMContext, session: AsyncSession, roles: Roles,
                         i18n: I18n) -> None:
    assert message.text is not None and message.from_user is not None
    data = await state.get_data()
    try:
        rnd = await voting.round_for_organiser(session, roles, int(data.get("vp_round") or 0))
        title_ky, title_ru = voting.split_titles(message.text)
        problem = await voting.add_problem(session, rnd, title_ky=title_ky, title_ru=title_ru,
                                           submission_ids=data.get("vp_subs", []), by=message.from_user.id)
    except VotingError as exc:
        await refuse(message, exc)
        return
    await state.set_state(None)
    await state.update_data(vp_subs=[])
    await message.answer(_("Problem #{id} added: {title}.").format(
        id=problem.id, title=voting.problem_title(problem, i18n.current_locale)),
        reply_markup=pickers.problems_keyboard(rnd))
