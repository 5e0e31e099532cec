"""Events (hearings, gatherings, kurultais, council sessions): who may announce, who is invited, answers,
questions, changes, reminders and the outcome. No aiogram here: texts are rendered by handlers and jobs.

A package by concern; callers use ``services.events`` as one module (every public name is re-exported here):
``common.py`` (the error, documents, answers, parsing what organisers type), ``rules.py`` (decision rules),
``calendar.py`` (the iCalendar file), ``records.py`` (creating and reading events), ``audience.py`` (recipients,
invitations, the count of answers), ``replies.py`` (villagers' answers and questions), ``changes.py`` (moving,
cancelling, reminders), ``outcome.py`` (recording the outcome); each imports only the ones before it."""

from __future__ import annotations

from services.events.audience import (
    answers,
    count_invited,
    count_recipients,
    invite,
    invite_recipients,
    invited,
    invited_condition,
    recipient_condition,
    recipients,
)
from services.events.calendar import ics
from services.events.changes import cancel, change, reminder_key, schedule_reminders, set_reminders
from services.events.common import (
    MAX_DOCUMENT_BYTES,
    REMINDER_TASK,
    Answers,
    Document,
    EventError,
    parse_lead_times,
    parse_when,
)
from services.events.outcome import record_outcome
from services.events.records import (
    concerns,
    create_event,
    event_for_organiser,
    events_of,
    get_event,
    upcoming_for,
)
from services.events.replies import ask, questions, respond, response_of
from services.events.rules import DECISION_BASES, DecisionInput, check_rule, decide, is_tie
from storage.events import EVENT_KINDS

__all__ = [
    "DECISION_BASES", "EVENT_KINDS", "MAX_DOCUMENT_BYTES", "REMINDER_TASK", "Answers", "DecisionInput", "Document",
    "EventError", "answers", "ask", "cancel", "change", "check_rule", "concerns", "count_invited", "count_recipients",
    "create_event", "decide", "event_for_organiser", "events_of", "get_event", "ics", "invite", "invite_recipients",
    "invited", "invited_condition", "is_tie", "parse_lead_times", "parse_when", "questions",
    "recipient_condition", "recipients", "record_outcome", "reminder_key", "respond", "response_of",
    "schedule_reminders", "set_reminders", "upcoming_for",
]
