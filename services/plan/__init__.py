"""The joint action plan (БАП) and citizen monitoring: the rules, with no aiogram.

- A plan is made from a closed voting round's priorities (the aiyl aimak's top five, ties shown, merges
  applied); one plan per round (a database constraint). Activities carry the responsible party, dates, funding
  by source (several per activity, in som), expected result, indicators and a status.
- Initiative groups and the monitoring group (БМжБТ) of registered villagers of the plan's aiyl aimak, with the
  mandate (order of the aiyl okmotu head) and the composition by sex, age group and village.
- Monitoring: each activity has dates (every N months and/or set dates); at each date a durable task
  (``services.tasks``) opens an occasion and ``jobs.plan`` asks the members. Answers are kept with time and
  author and update the activity's progress and status; status changes are recorded and a task tells followers.
- Satisfaction surveys about a municipal service, scores 1–5, results per village and group.

Refusals are ``PlanError`` with a ``code``; handlers turn codes into translated text.

The package by concern (each module imports only those before it; callers use ``services.plan`` as one):
``common`` (statuses, kinds, task kinds, ``PlanError``, dates and money), ``plans`` (plans from a round,
approval), ``schedule`` (monitoring dates and occasions), ``activities`` (activities, funding, status, due
dates, progress), ``groups`` (groups, members, composition), ``answers`` (the monitoring answers),
``audience`` (organisers, followers, villagers), ``surveys`` (satisfaction surveys)."""

from __future__ import annotations

from services.plan.activities import (
    ActivityInput,
    Money,
    activities_of,
    add_activity,
    check_activity,
    funding_of,
    get_activity,
    is_overdue,
    money_by_source,
    plan_progress,
    schedule_overdue,
    set_due,
    set_funding,
    set_status,
    status_change,
)
from services.plan.answers import Prompt, answers_of, check_may_answer, members_without_answer, record_answer
from services.plan.audience import (
    follow,
    follower_condition,
    followers,
    is_following,
    organiser_ids,
    unfollow,
    villager_condition,
    villagers_of,
    villages_of,
)
from services.plan.common import (
    CLOSED_STATUSES,
    DATE_RE,
    ESCALATE_TASK,
    GROUP_KINDS,
    MAX_MONEY,
    MIN_MINORITY_SHARE,
    MONITOR_TASK,
    NOTICE_GRACE,
    OVERDUE_TASK,
    PERCENTS,
    PROMPT_GRACE,
    PROMPT_HOUR,
    REMIND_TASK,
    RESPONSIBLE_KINDS,
    SERVICES,
    SOURCES,
    STATUS_TASK,
    STATUSES,
    SURVEY_TASK,
    YEARLY_TASK,
    PlanError,
    add_months,
    at_local,
    local_day,
    parse_dates,
    parse_som,
)
from services.plan.groups import (
    Composition,
    add_member,
    composition,
    group,
    groups_of,
    is_monitor,
    members_of,
    monitoring_group,
    remove_member,
    set_mandate,
    villager_of,
)
from services.plan.plans import (
    activity_for_organiser,
    approve,
    closed_rounds_without_plan,
    create_from_round,
    current_plan,
    get_plan,
    plan_for_organiser,
    plans_of,
    priorities_of,
    priority_title,
    round_priorities,
    schedule_yearly,
)
from services.plan.schedule import get_occasion, monitoring_dates, open_occasion, schedule_follow_ups, set_monitoring
from services.plan.surveys import (
    Scores,
    SurveyResults,
    create_survey,
    open_survey_occasion,
    record_score,
    survey_results,
    survey_time,
    surveys_of,
)

__all__ = [
    "ActivityInput", "CLOSED_STATUSES", "Composition", "DATE_RE", "ESCALATE_TASK", "GROUP_KINDS", "MAX_MONEY",
    "MIN_MINORITY_SHARE", "MONITOR_TASK", "Money", "NOTICE_GRACE", "OVERDUE_TASK", "PERCENTS", "PROMPT_GRACE",
    "PROMPT_HOUR", "PlanError", "Prompt", "REMIND_TASK", "RESPONSIBLE_KINDS", "SERVICES", "SOURCES", "STATUSES",
    "STATUS_TASK", "SURVEY_TASK", "Scores", "SurveyResults", "YEARLY_TASK", "activities_of",
    "activity_for_organiser", "add_activity", "add_member", "add_months", "answers_of", "approve", "at_local",
    "check_activity", "check_may_answer", "closed_rounds_without_plan", "composition", "create_from_round",
    "create_survey", "current_plan", "follow", "follower_condition", "followers", "funding_of", "get_activity",
    "get_occasion", "get_plan", "group", "groups_of", "is_following", "is_monitor", "is_overdue", "local_day",
    "members_of", "members_without_answer", "money_by_source", "monitoring_dates", "monitoring_group", "open_occasion",
    "open_survey_occasion", "organiser_ids", "parse_dates", "parse_som", "plan_for_organiser", "plan_progress",
    "plans_of", "priorities_of", "priority_title", "record_answer", "record_score", "remove_member",
    "round_priorities", "schedule_follow_ups", "schedule_overdue", "schedule_yearly", "set_due", "set_funding",
    "set_mandate", "set_monitoring", "set_status", "status_change", "survey_results", "survey_time", "surveys_of",
    "unfollow", "villager_condition", "villager_of", "villagers_of", "villages_of",
]
