"""Names of phases, kinds, topics and refusals, with the same msgids as the chat (one translation for both)."""

from __future__ import annotations

from typing import Any

from aiogram.utils.i18n import gettext as _

from storage.models import AiylAimak, Village


def place_name(place: AiylAimak | Village | None, language: str) -> str:
    if place is None:
        return "—"
    return place.name_ru if language in ("ru", "uz") else place.name_ky


def phase_label(phase: str) -> str:
    return {"draft": _("draft"), "collecting": _("collecting problems"), "voting": _("voting"),
            "closed": _("closed")}.get(phase, phase)


def kind_label(kind: str) -> str:
    return {"hearing": _("Public hearing"), "gathering": _("Gathering of residents"), "kurultai": _("Kurultai"),
            "council": _("Local council session")}.get(kind, kind)


def rule_text(rule: str) -> str:
    base, _sep, tie = rule.partition("+")
    text = _("simple majority of those present") if base == "present" else _("more votes for than against")
    if tie == "chair":
        text += _("; in a tie the chair's vote decides")
    return text


def event_status_label(status: str) -> str:
    return {"announced": _("announced"), "cancelled": _("cancelled"), "held": _("held")}.get(status, status)


def topic_label(topic: str) -> str:
    return {
        "emergencies": _("Emergencies: prevention and response by LSG bodies"),
        "labour": _("Labour law and municipal service (leave, payments)"),
        "dismissal": _("Early dismissal of the head of an aiyl okmotu"),
        "property": _("Municipal property"),
        "budget": _("Local budget"),
        "land": _("Land"),
        "council": _("Local council procedure"),
        "other": _("Other"),
    }.get(topic, topic)


def question_status_label(status: str) -> str:
    return {"waiting": _("waiting for a lawyer"), "taken": _("a lawyer is working on it"),
            "needs_details": _("needs your details"), "answered": _("answered"),
            "closed": _("closed")}.get(status, status)


def sex_label(sex: str | None) -> str:
    return {"f": _("women"), "m": _("men")}.get(sex or "", _("not given"))


def voting_refusal(code: str, detail: dict[str, Any] | None = None) -> str:
    detail = detail or {}
    texts = {
        "not_found": _("No such round among your aiyl aimaks."),
        "wrong_phase": _("This cannot be done in the round's current phase ({phase}).").format(
            phase=phase_label(str(detail.get("phase", "draft")))),
        "unknown_problem": _("Problem #{id} is not in this round.").format(id=detail.get("id", "?")),
        "unknown_merge": _("Merge #{id} is not in this round.").format(id=detail.get("id", "?")),
        "already_merged": _("Problem #{id} is already merged; undo that merge first.").format(
            id=detail.get("id", "?")),
        "merge_into_itself": _("A problem cannot be merged into itself."),
        "merge_undone": _("This merge is already undone."),
        "merge_on_ballot": _("This merge shaped the published ballots and cannot be undone now."),
        "bad_participants": _("The number of participants must be above zero."),
        "women_over_participants": _("There cannot be more women than participants."),
        "votes_over_stickers": _("{votes} votes are more than five per participant ({limit}).").format(
            votes=detail.get("votes", "?"), limit=detail.get("limit", "?")),
        "bad_votes": _("Votes cannot be negative."),
        "bad_date": _("“{value}” is not a date; write it like 12.03.2026.").format(value=detail.get("value", "")),
        "bad_age_band": _("“{value}” is not one of the age groups.").format(value=detail.get("value", "")),
        "bad_number": _("Participants, women and votes must be whole numbers."),
        "not_in_round": _("This village does not take part in the round."),
        "no_place": _("Please give the place of the session."),
        "pick_two": _("Choose at least two problems to merge."),
    }
    return texts.get(code, _("This cannot be done: {code}.").format(code=code))
