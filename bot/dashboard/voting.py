"""Voting rounds: the list, a round's card with its results and charts, merging, an offline session's results,
the report files. Every change goes through ``services.voting`` exactly as from the chat."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiohttp import web

from bot.dashboard.common import (
    XLSX,
    db_session,
    download,
    fmt,
    int_arg,
    language,
    redirect,
    render,
    settings,
    url,
    viewer,
)
from bot.dashboard.labels import phase_label, place_name, sex_label, voting_refusal
from services import dashboard as dash
from services import voting, voting_results
from services.voting import Results, SessionInput, VotingError, problem_title
from services.voting_report import band_label, chart_png, merged_from, tables, tie_note, to_csv, to_xlsx
from storage.voting import VotingRound

routes = web.RouteTableDef()
DONE = ("merged", "unmerged", "session")


async def _round(request: web.Request) -> VotingRound:
    """The round if the reader may see it; another aiyl aimak's round is as good as missing."""
    round_id = int_arg(request.match_info["round_id"])
    rnd = await voting.get_round(db_session(request), round_id) if round_id is not None else None
    if rnd is None or not dash.may_see(viewer(request).roles, rnd.aiyl_aimak_id):
        raise dash.DashboardError("not_found")
    return rnd


async def _own_round(request: web.Request) -> VotingRound:
    """For changes: the same check as the chat (organisers of the round's aiyl aimak)."""
    round_id = int_arg(request.match_info["round_id"])
    try:
        return await voting.round_for_organiser(db_session(request), viewer(request).roles, round_id or 0)
    except VotingError as error:
        raise dash.DashboardError("not_found") from error


@routes.get("/rounds")
async def round_list(request: web.Request) -> web.StreamResponse:
    session = db_session(request)
    aimaks = await dash.visible_aimaks(session, viewer(request).roles)
    rounds = await voting.rounds_of(session, [a.id for a in aimaks])
    names = {a.id: place_name(a, language(request)) for a in aimaks}
    return render(request, "rounds.html", {"rounds": rounds, "aimaks": names, "phase_label": phase_label})


def _bars(votes: dict[int, int], order: list[int]) -> list[tuple[int, int, float]]:
    top = max(votes.values(), default=0) or 1
    return [(pid, votes.get(pid, 0), 100 * votes.get(pid, 0) / top) for pid in order]


def results_view(results: Results, lang: str, *, merged: bool, fmt_number: Any = str) -> dict[str, Any]:
    """What the round's page shows, from the same ``Results`` the chat's results and the report use."""
    tally = results.merged if merged else results.as_voted
    total = tally.total()
    by_source = tally.by("source")
    problems = [p for p in results.problems.values() if not merged or p.merged_into_id is None]
    problems.sort(key=lambda p: (-total.get(p.id, 0), p.id))
    order = [p.id for p in problems]
    villages = results.villages
    names = {v.id: place_name(v, lang) for v in villages}
    per_village = {v.id: tally.village(v.id) for v in villages}
    by_band = tally.by("age_band")
    bands = sorted(by_band, key=lambda band: band or "~")
    by_sex = tally.by("sex", source="phone")
    sexes = [s for s in ("f", "m", None) if s in by_sex]
    tops = []
    for village in [*villages, None]:
        village_id = village.id if village else None
        top = results.top(village_id, merged=merged)
        found = voting_results.top_places(results, top, village_id, merged=merged)
        shared = {found[r.problem_id].label: voting_results.place_note(found[r.problem_id], _, fmt_number,
                                                                        ngettext)
                  for r in top.items if found[r.problem_id].shared > 1}
        tops.append({"name": place_name(village, lang) if village else None, "top": top,
                     "places": {pid: place.label for pid, place in found.items()},
                     "notes": [*shared.values(), *filter(None, [tie_note(top, _, ngettext)])]})
    return {
        "problems": problems, "title": {p.id: problem_title(p, lang) for p in results.problems.values()},
        "total": total, "bars": _bars(total, order), "phone": by_source.get("phone", {}),
        "session": by_source.get("session", {}), "villages": villages,
        "village_name": names, "per_village": per_village,
        "bands": bands, "band_label": lambda b: band_label(b, _), "by_band": by_band,
        "sexes": sexes, "sex_label": sex_label, "by_sex": by_sex, "tops": tops,
        "merged_from": {p.id: merged_from(results, p.id, names, lang) for p in problems},
    }


@routes.get("/rounds/{round_id}")
async def round_card(request: web.Request) -> web.StreamResponse:
    rnd = await _round(request)
    session = db_session(request)
    lang = language(request)
    results = await voting.results(session, rnd)
    merged = request.query.get("view") != "voted"
    chart_village = int_arg(request.query.get("village"))
    if chart_village not in {v.id for v in results.villages}:
        chart_village = None
    error = request.query.get("error")
    done = request.query.get("done")
    names = {v.id: place_name(v, lang) for v in results.villages}
    # Nobody counted twice: what the sheets and the phone ballots say, shown while it holds.
    warnings = await voting_results.double_count_warnings(session, results, names, gettext=_, ngettext=ngettext,
                                                          number=fmt(request).number)
    return render(request, "round.html", {
        "double_counts": warnings,
        "rnd": rnd, "aimak": place_name(results.aiyl_aimak, lang), "phase": phase_label(rnd.phase),
        "results": results, "merged": merged, "may_edit": viewer(request).roles.may_organise(rnd.aiyl_aimak_id),
        "error": voting_refusal(error) if error else None, "done": done if done in DONE else None,
        "participation": results.participation, "chart_village": chart_village,
        **results_view(results, lang, merged=merged, fmt_number=fmt(request).number),
    })


@routes.post("/rounds/{round_id}/merge")
async def merge(request: web.Request) -> web.StreamResponse:
    rnd = await _own_round(request)
    session = db_session(request)
    form = await request.post()
    chosen = sorted({n for n in (int_arg(str(v)) for v in form.getall("problem", [])) if n is not None})
    back = url(f"/rounds/{rnd.id}")
    if len(chosen) < 2:
        return redirect(f"{back}?error=pick_two")
    village = int_arg(str(form.get("village") or ""))  # none: in all villages; else within that village only
    tally = await voting.tally(session, rnd.id, merged=True)
    total = tally.total() if village is None else tally.village(village)
    into = int_arg(str(form.get("into") or ""))
    if into not in chosen:
        into = min(chosen, key=lambda pid: (-total.get(pid, 0), pid))  # the one with most votes keeps its name
    try:
        for source in chosen:
            if source != into:
                await voting.merge_problems(session, rnd, source, into, by=viewer(request).telegram_id,
                                            village_id=village)
    except VotingError as error:
        return redirect(f"{back}?error={error.code}")
    return redirect(f"{back}?done=merged")


@routes.post("/rounds/{round_id}/unmerge")
async def unmerge(request: web.Request) -> web.StreamResponse:
    rnd = await _own_round(request)
    form = await request.post()
    back = url(f"/rounds/{rnd.id}")
    try:
        await voting.undo_merge(db_session(request), rnd, int_arg(str(form.get("merge") or "")) or 0,
                                by=viewer(request).telegram_id)
    except VotingError as error:
        return redirect(f"{back}?error={error.code}")
    return redirect(f"{back}?done=unmerged")


async def _session_form(request: web.Request, rnd: VotingRound, values: dict[str, Any], error: str | None,
                        status: int = 200) -> web.StreamResponse:
    session = db_session(request)
    lang = language(request)
    problems = [p for p in await voting.problems_of(session, rnd.id) if p.merged_into_id is None]
    villages = await voting.round_villages(session, rnd.id)
    return render(request, "session_form.html", {
        "rnd": rnd, "villages": [(v.id, place_name(v, lang)) for v in villages],
        "bands": settings(request).age_bands, "problems": [(p.id, problem_title(p, lang)) for p in problems],
        "values": values, "error": error,
    }, status=status)


@routes.get("/rounds/{round_id}/session")
async def session_form(request: web.Request) -> web.StreamResponse:
    rnd = await _own_round(request)
    return await _session_form(request, rnd, {"held_on": date.today().isoformat()}, None)


@routes.post("/rounds/{round_id}/session")
async def session_save(request: web.Request) -> web.StreamResponse:
    rnd = await _own_round(request)
    form = await request.post()
    values = {key: str(value) for key, value in form.items()}
    try:
        numbers = {}
        for key in ("village", "participants", "women"):
            number = int_arg(values.get(key, "").strip())
            if number is None:
                raise VotingError("bad_number")
            numbers[key] = number
        votes = {}
        for key, value in values.items():
            if key.startswith("votes-") and value.strip():
                problem_id, count = int_arg(key.removeprefix("votes-")), int_arg(value.strip())
                if problem_id is None or count is None:
                    raise VotingError("bad_number")
                votes[problem_id] = count
        try:
            held_on = date.fromisoformat(values.get("held_on", "").strip())
        except ValueError:
            raise VotingError("bad_date", value=values.get("held_on", "")) from None
        data = SessionInput(village_id=numbers["village"], age_band=values.get("age_band", ""), held_on=held_on,
                            place=values.get("place", ""), participants=numbers["participants"],
                            women=numbers["women"], votes=votes)
        await voting.record_session(db_session(request), rnd, data, by=viewer(request).telegram_id, source="web",
                                    age_bands=settings(request).age_bands)
    except VotingError as error:
        return await _session_form(request, rnd, values, voting_refusal(error.code, error.detail), status=400)
    return redirect(url(f"/rounds/{rnd.id}?done=session"))


@routes.get("/rounds/{round_id}/report.{kind:(csv|xlsx)}")
async def report(request: web.Request) -> web.StreamResponse:
    rnd = await _round(request)
    lang = language(request)
    results = await voting.results(db_session(request), rnd)
    parts = tables(results, gettext=_, language=lang, zone=settings(request).zone, ngettext=ngettext)
    if request.match_info["kind"] == "csv":
        return download(to_csv(parts, language=lang), f"round-{rnd.id}.csv", "text/csv")
    return download(to_xlsx(parts, language=lang), f"round-{rnd.id}.xlsx", XLSX)


@routes.get("/rounds/{round_id}/chart.png")
async def chart(request: web.Request) -> web.StreamResponse:
    rnd = await _round(request)
    results = await voting.results(db_session(request), rnd)
    village_id = int_arg(request.query.get("village"))
    if village_id is not None and village_id not in {v.id for v in results.villages}:
        raise dash.DashboardError("not_found")
    image = chart_png(results, gettext=_, language=language(request), village_id=village_id)
    return web.Response(body=image, content_type="image/png", headers={"Cache-Control": "no-store"})
