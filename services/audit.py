"""The audit trail and the refusals of the rules, shared by every domain."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


class RuleError(ValueError):
    """Something the rules refuse; ``code`` names it for the message shown, ``detail`` carries what it needs."""

    def __init__(self, code: str, **detail: Any) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


def audit(session: AsyncSession, by: int | None, action: str, subject: str, subject_id: int | str,
          **detail: Any) -> None:
    """Record who did what to which subject (answers "who changed this, and when")."""
    session.add(AuditEntry(actor_telegram_id=by, action=action, subject_type=subject, subject_id=str(subject_id),
                           detail=detail))
