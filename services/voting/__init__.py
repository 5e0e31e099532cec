"""Priority voting, the participatory needs assessment: rounds and phases, problem collection, merging with
history and undo, ballots with receipts, offline sessions and the tally (computed in the database).

Refusals are ``VotingError`` with a ``code``; handlers turn codes into translated text.

The package by concern (each module imports only those before it; callers use ``services.voting`` as one):
``common`` (phases, modes, limits, ``VotingError``), ``rounds`` (rounds, phases, dates, reminders), ``frozen``
(values cached once a round is voting), ``attendance`` (who takes part, nobody counted twice), ``problems``
(submissions, problems, tags), ``counting`` (the tally's counters and queries, ranking, top five), ``merges``
(merges and undo), ``ballots`` (publishing, casting, receipts), ``sessions`` (offline sessions, CSV import),
``outcome`` (participation and results)."""

from __future__ import annotations

from services.voting.attendance import (
    ask_attendance,
    attendance_of,
    check_eligible,
    eligible_people,
    needs_attendance_question,
    non_voters,
    recipients,
    record_attendance,
    villagers_to_message,
)
from services.voting.ballots import (
    BallotView,
    CastResult,
    ballot_by_receipt,
    ballot_items,
    cast_ballot,
    check_ballot,
    my_ballot,
    my_choices,
    new_receipt,
    normalise_receipt,
    publish_ballot,
)
from services.voting.common import (
    COMPETENCE_WORDS,
    COMPETENCES,
    MAX_BALLOT_ITEMS,
    MAX_CHOICES,
    MAX_SUBMISSIONS,
    MAX_TEXT,
    MIN_SESSION_PARTICIPANTS,
    MIN_TEXT,
    MODES,
    PHASES,
    RECEIPT_ALPHABET,
    SOURCES,
    VotingError,
    messages_villagers,
)
from services.voting.counting import (
    Ranked,
    Tally,
    TallyRow,
    Top,
    Votes,
    ranking,
    recount,
    recount_query,
    tally,
    tally_query,
    top,
)
from services.voting.merges import (
    apply_village_merges,
    merge_problems,
    merged_tally,
    merges_of,
    undo_merge,
    village_merge_ends,
)
from services.voting.outcome import Participation, Results, Turnout, participation, results
from services.voting.problems import (
    BallotEntry,
    add_problem,
    assign_submissions,
    parse_competence,
    problem_in_round,
    problem_title,
    problems_of,
    rename_problem,
    split_titles,
    submissions_by_village,
    submissions_of,
    submit_problem,
    tag_problem,
)
from services.voting.rounds import (
    change_dates,
    close_round,
    create_round,
    due_to_close,
    future_example,
    get_round,
    open_collection,
    open_rounds_for,
    parse_reminder_hours,
    publish_results,
    round_for_organiser,
    round_villages,
    rounds_of,
    set_reminders,
)
from services.voting.sessions import (
    COLUMN_ALIASES,
    HEADERS,
    SESSION_COLUMNS,
    VOTE_LINE,
    ImportReport,
    SessionInput,
    check_session,
    column_name,
    find_or_add_problems,
    import_sessions_csv,
    match_age_band,
    match_village,
    parse_date,
    parse_vote_lines,
    record_session,
    session_headers,
    sessions_of,
)

__all__ = [
    "BallotEntry", "BallotView", "COLUMN_ALIASES", "COMPETENCES", "COMPETENCE_WORDS", "CastResult", "HEADERS",
    "ImportReport",
    "MAX_BALLOT_ITEMS", "MAX_CHOICES", "MAX_SUBMISSIONS", "MAX_TEXT", "MIN_SESSION_PARTICIPANTS", "MIN_TEXT",
    "MODES", "PHASES", "Participation", "RECEIPT_ALPHABET", "Ranked", "Results", "SESSION_COLUMNS", "SOURCES",
    "SessionInput", "Tally", "TallyRow", "Top", "Turnout", "VOTE_LINE", "Votes", "VotingError", "add_problem",
    "apply_village_merges", "ask_attendance", "assign_submissions", "attendance_of", "ballot_by_receipt",
    "ballot_items", "cast_ballot", "change_dates", "check_ballot", "check_eligible", "check_session", "close_round",
    "column_name", "create_round", "due_to_close", "eligible_people", "find_or_add_problems", "future_example",
    "get_round", "import_sessions_csv", "match_age_band", "match_village", "merge_problems", "merged_tally",
    "merges_of", "messages_villagers", "my_ballot", "my_choices", "needs_attendance_question", "new_receipt",
    "non_voters",
    "normalise_receipt", "open_collection", "open_rounds_for", "parse_competence", "parse_date",
    "parse_reminder_hours", "parse_vote_lines", "participation", "problem_in_round", "problem_title", "problems_of",
    "publish_ballot", "publish_results", "ranking", "recipients", "record_attendance", "record_session", "recount",
    "recount_query", "rename_problem", "results", "round_for_organiser", "round_villages", "rounds_of",
    "session_headers", "sessions_of", "set_reminders", "split_titles", "submissions_by_village", "submissions_of",
    "submit_problem", "tag_problem", "tally", "tally_query", "top", "undo_merge", "village_merge_ends",
    "villagers_to_message",
]
