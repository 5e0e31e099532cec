"""The legal helpdesk: who may ask, working hours, and the life of a question as a state machine.

    waiting ──claim──▶ taken ──request details──▶ needs_details ──asker's details──▶ taken
       ▲                 │  ╲──answer──▶ answered ──follow-up (once)──▶ taken
       └────release──────┘                 └──it helped / rating──▶ closed
                         pass: taken ──▶ taken (another lawyer)

Every transition is one conditional UPDATE (``WHERE status = … AND lawyer_id = …``): of two lawyers
claiming the same question exactly one changes the row, the other gets ``HelpdeskError("taken")`` with the
holder's id. Times are counted in working hours (``WorkingHours``); while a question needs the asker's details
its clock is paused.

Who may ask (setting ``helpdesk_askers``): ``members`` (default) — staff and council deputies of member
municipalities, listed by admins in ``helpdesk_member`` (``/member``), asking for the municipality they work
for; or ``registered`` — anybody registered, asking for the municipality they live in.

The package by concern (each module imports only those before it; callers use ``services.helpdesk`` as one):
``common`` (topics, statuses, task kinds, ``HelpdeskError``), ``hours`` (working hours, ``HelpdeskConfig``, a
question's clock), ``members`` (who may ask, members, lawyers, admins), ``checks`` (the scheduled reminder and
escalation), ``questions`` (the life of a question), ``listings`` (the queue and other readings)."""

from __future__ import annotations

from services.helpdesk.checks import CHECK_GRACE, autoclose_key, overdue_key, plan_checks, remind_key
from services.helpdesk.common import (
    ANSWERED,
    AUTOCLOSE_TASK,
    CAPACITIES,
    CLOSED,
    MAX_FOLLOWUPS,
    NEEDS_DETAILS,
    OPEN,
    OVERDUE_TASK,
    REMIND_TASK,
    TAKEN,
    TOPICS,
    WAITING,
    HelpdeskError,
)
from services.helpdesk.hours import HelpdeskConfig, WorkingHours, due_at, elapsed, expected_answer
from services.helpdesk.listings import entries, first_attachments, held_by, last_answer, questions_of, queue, queue_size
from services.helpdesk.members import (
    AskerCheck,
    add_member,
    admin_ids,
    lawyer_ids,
    list_members,
    may_ask,
    member_of,
    remove_member,
)
from services.helpdesk.questions import (
    add_details,
    answer,
    claim,
    close_unrated,
    follow_up,
    get,
    mark_helped,
    pass_to,
    rate,
    release,
    request_details,
    submit,
)
from storage.helpdesk import HelpdeskMember, Question, QuestionEntry  # the tables, offered here as before

__all__ = [
    "ANSWERED", "AUTOCLOSE_TASK", "AskerCheck", "CAPACITIES", "CHECK_GRACE", "CLOSED", "HelpdeskConfig",
    "HelpdeskError", "HelpdeskMember", "MAX_FOLLOWUPS", "NEEDS_DETAILS", "OPEN", "OVERDUE_TASK", "Question",
    "QuestionEntry", "REMIND_TASK", "TAKEN", "TOPICS", "WAITING", "WorkingHours", "add_details", "add_member",
    "admin_ids", "answer", "autoclose_key", "claim", "close_unrated", "due_at", "elapsed", "entries", "expected_answer",
    "first_attachments", "follow_up", "get", "held_by", "last_answer", "lawyer_ids", "list_members", "mark_helped",
    "may_ask", "member_of", "overdue_key", "pass_to", "plan_checks", "questions_of", "queue", "queue_size", "rate",
    "release", "remind_key", "remove_member", "request_details", "submit",
]
