"""The helpdesk's topics, statuses, task kinds and its error."""

from __future__ import annotations

from storage.helpdesk import Question

# Topic codes in the order they are offered.
TOPICS: tuple[str, ...] = ("emergencies", "labour", "dismissal", "property", "budget", "land", "council", "other")
WAITING, TAKEN, NEEDS_DETAILS, ANSWERED, CLOSED = "waiting", "taken", "needs_details", "answered", "closed"
OPEN = (WAITING, TAKEN, NEEDS_DETAILS)
CAPACITIES = ("staff", "deputy")
MAX_FOLLOWUPS = 1

REMIND_TASK = "helpdesk.remind"
OVERDUE_TASK = "helpdesk.overdue"
AUTOCLOSE_TASK = "helpdesk.autoclose"


class HelpdeskError(ValueError):
    """A step that cannot be taken; ``code`` names it, ``holder`` is the lawyer holding the question."""

    def __init__(self, code: str, question: Question | None = None, holder: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.question = question
        self.holder = holder
