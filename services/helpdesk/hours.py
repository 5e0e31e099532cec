"""Working hours, the helpdesk's settings, and a question's clock (elapsed working time, when it is due)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.helpdesk.common import TOPICS
from storage.helpdesk import Question


def _parse_windows(value: str) -> tuple[tuple[time, time], ...]:
    windows = []
    for part in value.split(","):
        start, _, end = part.strip().partition("-")
        begin, finish = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
        if finish <= begin:
            raise ValueError(f"working window {part!r} ends before it starts")
        windows.append((begin, finish))
    windows.sort()
    for (_, end), (start, _) in zip(windows, windows[1:], strict=False):
        if start < end:
            raise ValueError("working windows overlap")
    return tuple(windows)


@dataclass(frozen=True)
class WorkingHours:
    """Working windows on working days in one time zone, e.g. 09:00–12:30 and 13:30–18:00, Monday to Friday."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Bishkek"))
    windows: tuple[tuple[time, time], ...] = ((time(9), time(18)),)
    days: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays
    holidays: frozenset[date] = frozenset()

    @classmethod
    def parse(cls, zone: ZoneInfo, windows: str, days: Iterable[int], holidays: Iterable[date] = ()) -> WorkingHours:
        hours = cls(zone, _parse_windows(windows), frozenset(days), frozenset(holidays))
        if not hours.days or not hours.days <= set(range(1, 8)):
            raise ValueError("working days are ISO weekdays 1 (Monday) to 7")
        return hours

    def _working(self, day: date) -> bool:
        return day.isoweekday() in self.days and day not in self.holidays

    def _spans(self, day: date) -> Iterable[tuple[datetime, datetime]]:
        if self._working(day):
            for begin, end in self.windows:
                yield datetime.combine(day, begin, self.zone), datetime.combine(day, end, self.zone)

    def seconds(self, start: datetime, end: datetime) -> float:
        """Working seconds between two moments (0 when ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        total = 0.0
        day, last = start.astimezone(self.zone).date(), end.astimezone(self.zone).date()
        while day <= last:
            for begin, finish in self._spans(day):
                low, high = max(begin, start), min(finish, end)
                if high > low:
                    total += (high - low).total_seconds()
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment when ``seconds`` of working time have passed after ``start``."""
        remaining = max(seconds, 0.0)
        day = start.astimezone(self.zone).date()
        for _ in range(3700):  # ten years of calendar days at most
            for begin, finish in self._spans(day):
                low = max(begin, start)
                if finish <= low:
                    continue
                available = (finish - low).total_seconds()
                if remaining <= available:
                    return low + timedelta(seconds=remaining)
                remaining -= available
            day += timedelta(days=1)
        raise ValueError("no working time in the next ten years")


@dataclass(frozen=True)
class HelpdeskConfig:
    """The helpdesk's settings in the form the services use."""

    hours: WorkingHours = field(default_factory=WorkingHours)
    askers: str = "members"  # members | registered
    take_within_hours: float = 4.0
    answer_within_hours: dict[str, float] = field(default_factory=dict)
    default_answer_hours: float = 16.0
    close_unrated_after: timedelta = timedelta(days=7)  # an answer never rated or followed up closes then

    @classmethod
    def from_settings(cls, settings: Any) -> HelpdeskConfig:
        targets = dict(getattr(settings, "helpdesk_answer_targets", {}) or {})
        unknown = sorted(set(targets) - set(TOPICS))
        if unknown:
            raise ValueError(f"unknown helpdesk topics in the answer targets: {', '.join(unknown)}")
        return cls(
            hours=WorkingHours.parse(
                settings.zone,
                getattr(settings, "helpdesk_working_hours", "09:00-18:00"),
                getattr(settings, "helpdesk_working_days", (1, 2, 3, 4, 5)),
                getattr(settings, "helpdesk_holidays", ()),
            ),
            askers=getattr(settings, "helpdesk_askers", "members"),
            take_within_hours=getattr(settings, "helpdesk_take_within_hours", 4.0),
            answer_within_hours=targets,
            default_answer_hours=getattr(settings, "helpdesk_default_answer_hours", 16.0),
            close_unrated_after=timedelta(days=getattr(settings, "helpdesk_close_unrated_days", 7)),
        )

    def answer_target(self, topic: str) -> float:
        """Working seconds within which a question of this topic should be answered."""
        return self.answer_within_hours.get(topic, self.default_answer_hours) * 3600

    @property
    def take_target(self) -> float:
        return self.take_within_hours * 3600


def elapsed(question: Question, config: HelpdeskConfig, now: datetime) -> float:
    """Working seconds the question has been open, pauses for the asker's details left out."""
    end = now if question.first_answer_at is None else question.first_answer_at
    paused = question.paused_seconds or 0.0
    if question.paused_since is not None:
        paused += config.hours.seconds(question.paused_since, end)
    return max(config.hours.seconds(question.created_at, end) - paused, 0.0)


def due_at(question: Question, config: HelpdeskConfig) -> datetime | None:
    """When the first answer is due; None once answered or while the clock is paused."""
    if question.first_answer_at is not None or question.paused_since is not None:
        return None
    return config.hours.add(question.created_at, config.answer_target(question.topic) + (question.paused_seconds or 0))


def expected_answer(question: Question, config: HelpdeskConfig) -> datetime:
    due = due_at(question, config)
    return due if due is not None else config.hours.add(question.created_at, config.answer_target(question.topic))
