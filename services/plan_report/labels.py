"""The labels a plan's report and the chat share (status, source, responsible, service), and place names."""

from __future__ import annotations

from collections.abc import Callable

from storage.models import AiylAimak, Person, Village
from storage.plan import PlanActivity

Gettext = Callable[[str], str]
Ngettext = Callable[[str, str, int], str]


def status_label(status: str, gettext: Gettext) -> str:
    return {
        "planned": gettext("planned"),
        "in_progress": gettext("in progress"),
        "done": gettext("done"),
        "stalled": gettext("stalled"),
        "cancelled": gettext("cancelled"),
    }.get(status, status)


def source_label(source: str, gettext: Gettext) -> str:
    return {
        "local_budget": gettext("local budget"),
        "grant": gettext("donor grant"),
        "community": gettext("community contribution"),
        "sponsor": gettext("sponsor"),
        "other": gettext("other source"),
    }.get(source, source)


def responsible_label(kind: str, gettext: Gettext) -> str:
    return {
        "aiyl_okmotu": gettext("aiyl okmotu"),
        "council": gettext("local council"),
        "initiative_group": gettext("initiative group"),
        "person": gettext("a named person"),
    }.get(kind, kind)


def service_label(service: str, gettext: Gettext) -> str:
    return {
        "water": gettext("drinking water"),
        "school": gettext("school"),
        "health_post": gettext("health post"),
        "roads": gettext("roads"),
    }.get(service, service)


def responsible_text(activity: PlanActivity, person: Person | None, gettext: Gettext) -> str:
    if activity.responsible_kind == "person":
        return activity.responsible_name or (person.first_name if person and person.first_name else "—")
    label = responsible_label(activity.responsible_kind, gettext)
    return f"{label} ({activity.responsible_name})" if activity.responsible_name else label


def place(place_: AiylAimak | Village | None, language: str) -> str:
    if place_ is None:
        return "—"
    return place_.name_ru if language in ("ru", "uz") else place_.name_ky
