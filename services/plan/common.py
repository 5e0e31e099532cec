"""What every part of the plan shares: statuses, kinds, limits, task kinds, the refusal (``PlanError``), and
dates (months ahead, local times) and sums of money as people write them."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.audit import RuleError

STATUSES = ("planned", "in_progress", "done", "stalled", "cancelled")
CLOSED_STATUSES = ("done", "cancelled")
RESPONSIBLE_KINDS = ("aiyl_okmotu", "council", "initiative_group", "person")
SOURCES = ("local_budget", "grant", "community", "sponsor", "other")
SERVICES = ("water", "school", "health_post", "roads")
GROUP_KINDS = ("initiative", "monitoring")
PERCENTS = (0, 25, 50, 75, 100)
MIN_MINORITY_SHARE = 0.30  # working, initiative and monitoring groups: the minority sex at least 30 %
MAX_MONEY = 10**12  # som
PROMPT_HOUR = 10  # local time of monitoring prompts, notices and surveys

# Durable task kinds (handlers in jobs/plan.py).
MONITOR_TASK = "plan.monitor"
REMIND_TASK = "plan.remind"
ESCALATE_TASK = "plan.escalate"
OVERDUE_TASK = "plan.overdue"
STATUS_TASK = "plan.status"
SURVEY_TASK = "plan.survey"
YEARLY_TASK = "plan.yearly"
# How late a task may still run after the bot was down.
PROMPT_GRACE = timedelta(days=2)
NOTICE_GRACE = timedelta(days=7)


class PlanError(RuleError):
    """Something the rules refuse; ``code`` names it, ``detail`` carries what the message needs."""


# --------------------------------------------------------------------------- dates and money


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the last day of a shorter month)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def at_local(day: date, zone: ZoneInfo, hour: int = PROMPT_HOUR) -> datetime:
    """``hour`` o'clock of ``day`` in the municipality's time zone, as an aware datetime."""
    return datetime.combine(day, time(hour), tzinfo=zone)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


# A date, with the Kyrgyz "-ж." or the Russian "г." after it when written so ("02.04.2026-ж. №15 буйрук").
DATE_RE = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})(?:\s*-?ж\.|\s*г\.)?|(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_dates(text: str) -> list[date]:
    """Dates written as 31.12.2026, 31/12/2026 or 2026-12-31, in the order given."""
    found: list[date] = []
    for match in DATE_RE.finditer(text):
        try:
            if match.group(1):
                found.append(date(int(match.group(3)), int(match.group(2)), int(match.group(1))))
            else:
                found.append(date(int(match.group(4)), int(match.group(5)), int(match.group(6))))
        except ValueError as exc:
            raise PlanError("bad_date", text=match.group(0)) from exc
    return found


def parse_som(text: str) -> int:
    """An amount in som: "580 000", "580,000", "580000 сом"; whole som."""
    digits = re.sub(r"[\s\u00a0\u202f,'’]", "", text.strip().lower())
    digits = re.sub(r"(сом|som|с)\.?$", "", digits)
    if not digits.isdigit():
        raise PlanError("bad_amount")
    value = int(digits)
    if value > MAX_MONEY:
        raise PlanError("bad_amount")
    return value


def _clean(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]
