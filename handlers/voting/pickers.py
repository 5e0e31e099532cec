"""The organiser's lists to tap instead of typing numbers: submissions to group into a problem, problems to merge
(everywhere or in one village), merges to undo, problems to tag. Texts and keyboards only (no router)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.keyboards import InlineKeyboardBuilder
from bot.text import escape
from handlers.voting.buttons import PickCB, RoundCB
from handlers.voting.views import competence_label
from services import voting
from services.places import place_name
from storage.models import Village
from storage.voting import Problem, ProblemMerge, Submission, VotingRound

LABEL = 48  # characters of a title on a button


def _short(text: str, limit: int = LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cancel(builder: InlineKeyboardBuilder, rnd: VotingRound) -> None:
    builder.button(text=_("Cancel"), callback_data=PickCB(a="x", r=rnd.id))


def problems_keyboard(rnd: VotingRound) -> InlineKeyboardMarkup:
    """Under the list of problems: what an organiser can do to them by tapping."""
    builder = InlineKeyboardBuilder()
    if rnd.phase in ("draft", "collecting") and voting.messages_villagers(rnd):
        builder.button(text=_("Group submissions into a problem"), callback_data=PickCB(a="g", r=rnd.id))
    builder.button(text=_("Merge problems"), callback_data=PickCB(a="m", r=rnd.id))
    builder.button(text=_("Undo a merge"), callback_data=PickCB(a="u", r=rnd.id))
    builder.button(text=_("Tag a problem"), callback_data=PickCB(a="t", r=rnd.id))
    builder.adjust(1)
    return builder.as_markup()


def submissions_picker(rnd: VotingRound, submissions: list[Submission], chosen: set[int],
                       villages: dict[int, Village], language: str) -> tuple[str, InlineKeyboardMarkup]:
    builder = InlineKeyboardBuilder()
    for item in submissions[:40]:
        mark = "✅" if item.id in chosen else "▫️"
        village = villages.get(item.village_id)
        where = f" ({place_name(village, language)})" if village is not None else ""
        builder.button(text=f"{mark} {_short(item.text)}{where}", callback_data=PickCB(a="gs", r=rnd.id, id=item.id))
    builder.button(text=_("Next: name the problem ({count})").format(count=len(chosen)),
                   callback_data=PickCB(a="gn", r=rnd.id))
    _cancel(builder, rnd)
    builder.adjust(1)
    return _("Tap the submissions that name the same problem, then “Next”."), builder.as_markup()


def title_prompt(count: int) -> str:
    return ngettext("Title of the problem {count} submission names, in Kyrgyz | Russian (one title serves both), "
                    "e.g. <code>Ичүүчү суу жок | Нет питьевой воды</code>:",
                    "Title of the problem these {count} submissions name, in Kyrgyz | Russian (one title serves "
                    "both), e.g. <code>Ичүүчү суу жок | Нет питьевой воды</code>:", count).format(count=count)


def problems_picker(rnd: VotingRound, problems: list[Problem], action: str, language: str, *,
                    skip: int | None = None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for problem in problems:
        if problem.id != skip and problem.merged_into_id is None:
            builder.button(text=f"#{problem.id} {_short(voting.problem_title(problem, language))}",
                           callback_data=PickCB(a=action, r=rnd.id, id=problem.id))
    _cancel(builder, rnd)
    builder.adjust(1)
    return builder.as_markup()


def pick_source_text() -> str:
    return _("Which problem is to be counted with another one?")


def pick_target_text(source: Problem, language: str) -> str:
    return _("Count “{problem}” with which problem?").format(problem=escape(voting.problem_title(source, language)))


def where_picker(rnd: VotingRound, villages: list[Village], language: str) -> tuple[str, InlineKeyboardMarkup]:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("In every village"), callback_data=PickCB(a="mw", r=rnd.id, id=0))
    for village in villages:
        builder.button(text=_("Only in {village}").format(village=place_name(village, language)),
                       callback_data=PickCB(a="mw", r=rnd.id, id=village.id))
    _cancel(builder, rnd)
    builder.adjust(1)
    return (_("Where are they the same problem? The method merges within one village's gallery; a merge in one "
              "village leaves the other villages' lists as they are."), builder.as_markup())


def confirm(rnd: VotingRound, action: str, label: str, item: int = 0) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=label, callback_data=PickCB(a=action, r=rnd.id, id=item))
    _cancel(builder, rnd)
    builder.adjust(2)
    return builder.as_markup()


def merge_question(source: Problem, target: Problem, village: Village | None, language: str) -> str:
    where = (_("in {village} only").format(village=place_name(village, language)) if village is not None
             else _("in every village"))
    return _("Count “{source}” with “{target}”, {where}? Their votes are summed; the merge is recorded and can be "
             "undone.").format(source=escape(voting.problem_title(source, language)),
                               target=escape(voting.problem_title(target, language)), where=where)


def merges_picker(rnd: VotingRound, merges: list[ProblemMerge], problems: dict[int, Problem],
                  villages: dict[int, Village], language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for merge in merges:
        where = f" ({place_name(villages[merge.village_id], language)})" if merge.village_id in villages else ""
        source = _short(voting.problem_title(problems[merge.source_id], language), 24)
        target = _short(voting.problem_title(problems[merge.target_id], language), 24)
        builder.button(text=f"{merge.id}. {source} → {target}{where}", callback_data=PickCB(a="uk", r=rnd.id,
                                                                                          id=merge.id))
    _cancel(builder, rnd)
    builder.adjust(1)
    return builder.as_markup()


def competence_picker(rnd: VotingRound, problem: Problem, language: str) -> tuple[str, InlineKeyboardMarkup]:
    builder = InlineKeyboardBuilder()
    for index, competence in enumerate(voting.COMPETENCES):
        builder.button(text=competence_label(competence), callback_data=PickCB(a="tc", r=rnd.id, id=index))
    _cancel(builder, rnd)
    builder.adjust(1)
    return (_("“{problem}” is:").format(problem=escape(voting.problem_title(problem, language))),
            builder.as_markup())


def example_time(value: object, zone: ZoneInfo | None = None) -> str:
    """An end time to type, as the organiser types it: "06.12.2026 18:00" (a text given stays as it is)."""
    if isinstance(value, str):
        return value
    moment = value if isinstance(value, datetime) else voting.future_example()
    return moment.astimezone(zone or ZoneInfo("Asia/Bishkek")).strftime("%d.%m.%Y %H:%M")


def close_confirmation(rnd: VotingRound) -> tuple[str, InlineKeyboardMarkup]:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, close it"), callback_data=RoundCB(a="closeok", r=rnd.id))
    builder.button(text=_("No, keep it open"), callback_data=RoundCB(a="show", r=rnd.id))
    builder.adjust(2)
    text = _("Close “{title}” now? Nobody can vote or change a ballot after that, and the results become final.")
    return text.format(title=escape(rnd.title)), builder.as_markup()
