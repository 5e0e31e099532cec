"""The dashboard's rules without a browser: one-time links, sessions and cookies, the role wall on every page and
download, CSRF on every form, the session form's checks, the Web App's init data, and /dashboard in chat."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import Jamaat
from bot.dashboard import mount
from bot.dashboard.auth import check_init_data
from bot.emulator import Emulator
from bot.emulator.driver import tiny_png
from jobs.tasks import run_due_tasks
from services import dashboard as dash
from services import voting
from services.events import answers, events_of
from services.faq import search as faq_search
from services.roles import Role, grant
from storage.db import Database
from storage.delivery import OutboxMessage
from storage.models import utcnow
from tests.conversation import register
from tests.dashboard_data import ADMIN, LAWYER, ORGANISER, OTHER_ORGANISER, Sample, build
from tests.harness import Harness, harness_settings


@dataclass
class Site:
    client: TestClient
    db: Database
    sample: Sample
    app: Jamaat

    async def sign_in(self, telegram_id: int, language: str = "en") -> None:
        self.client.session.cookie_jar.clear()
        self.english()
        async with self.db.session() as session:
            token = await dash.issue_link(session, telegram_id, minutes=5)
        response = await self.client.post("/dashboard/login", data={"t": token}, allow_redirects=False)
        assert response.status == 303, await response.text()
        await self.client.get(f"/dashboard/lang/{language}")

    def english(self) -> None:
        """Tests read the pages in English (the people's own language is Kyrgyz here)."""
        self.client.session.cookie_jar.update_cookies({"jamaat_dashboard_lang": "en"})

    async def csrf(self) -> str:
        page = await (await self.client.get("/dashboard/")).text()
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
        assert found, page[:500]
        return found.group(1)


async def _site(db: Database, **settings: object) -> AsyncIterator[Site]:
    async with Emulator() as emu:
        sample = await build(db, emu)
        app = Jamaat.create(harness_settings(emu, db, **settings), db=db)
        server = web.Application()
        mount(server, app)
        try:
            async with TestClient(TestServer(server)) as client:
                yield Site(client, db, sample, app)
        finally:
            await app.bot.session.close()


@pytest.fixture
async def site(db: Database) -> AsyncIterator[Site]:
    async for value in _site(db):
        yield value


async def test_a_link_signs_in_once_and_the_cookie_is_guarded(site: Site) -> None:
    site.english()
    async with site.db.session() as session:
        token = await dash.issue_link(session, ORGANISER, minutes=5)
    # Opening the link (as a link preview would) uses nothing up: it shows a button.
    for _ in range(2):
        page = await site.client.get(f"/dashboard/login?t={token}")
        assert page.status == 200 and 'name="t"' in await page.text()
        assert page.headers["Referrer-Policy"] == "same-origin"  # the token in the address goes to no other site
        assert page.headers["Cache-Control"] == "no-store"
    response = await site.client.post("/dashboard/login", data={"t": token}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/dashboard/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain http here; behind https it is Secure (next test)
    assert "Max-Age=43200" in cookie  # the session expires (12 hours by default)
    assert (await site.client.get("/dashboard/rounds")).status == 200
    async with site.db.session() as session:  # only the hash is kept
        assert await session.scalar(dash.select(dash.DashboardLink.token_hash)) == dash.token_hash(token)

    site.client.session.cookie_jar.clear()
    site.english()
    again = await site.client.post("/dashboard/login", data={"t": token}, allow_redirects=False)
    assert again.status == 410 and "already used" in await again.text()
    assert (await site.client.get("/dashboard/rounds")).status == 401

    async with site.db.session() as session:
        old = await dash.issue_link(session, ORGANISER, minutes=5, now=utcnow() - timedelta(minutes=6))
    expired = await site.client.post("/dashboard/login", data={"t": old}, allow_redirects=False)
    assert expired.status == 410 and "expired" in await expired.text()
    unknown = await site.client.post("/dashboard/login", data={"t": "nonsense"}, allow_redirects=False)
    assert unknown.status == 410 and "not valid" in await unknown.text()

    # Another site's form cannot sign a browser in with its own link (login CSRF), nor post anything else.
    async with site.db.session() as session:
        foreign = await dash.issue_link(session, OTHER_ORGANISER, minutes=5)
    forged = await site.client.post("/dashboard/login", data={"t": foreign}, allow_redirects=False,
                                    headers={"Origin": "https://evil.example"})
    assert forged.status == 403
    same = await site.client.post("/dashboard/login", data={"t": foreign}, allow_redirects=False,
                                  headers={"Origin": str(site.client.make_url("")).rstrip("/")})
    assert same.status == 303


async def test_two_claims_of_one_link_give_one_session(db: Database) -> None:
    async with db.session() as session:
        token = await dash.issue_link(session, ORGANISER, minutes=5)
    async with db.session() as session:
        assert await dash.claim_link(session, token) == ORGANISER
    with pytest.raises(dash.DashboardError) as refused:
        async with db.session() as session:
            await dash.claim_link(session, token)
    assert refused.value.code == "link_used"


async def test_the_cookie_is_secure_behind_https(db: Database) -> None:
    async for site in _site(db, dashboard_url="https://jamaat.example.kg"):
        async with site.db.session() as session:
            token = await dash.issue_link(session, ORGANISER, minutes=5)
        response = await site.client.post("/dashboard/login", data={"t": token}, allow_redirects=False)
        assert "Secure" in response.headers["Set-Cookie"]


async def test_sessions_expire_and_sign_out_ends_them(site: Site) -> None:
    async with site.db.session() as session:
        token = await dash.start_session(session, ORGANISER, hours=1, now=utcnow() - timedelta(hours=2))
    site.client.session.cookie_jar.update_cookies({"jamaat_dashboard": token})
    page = await site.client.get("/dashboard/rounds")
    assert page.status == 401 and "/dashboard" in await page.text()

    await site.sign_in(ORGANISER)
    csrf = await site.csrf()
    out = await site.client.post("/dashboard/logout", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 303
    assert (await site.client.get("/dashboard/rounds")).status == 401


async def test_not_signed_in_and_villagers_get_nothing(site: Site) -> None:
    rnd = site.sample.round_id
    for path in ("/dashboard/", f"/dashboard/rounds/{rnd}", f"/dashboard/rounds/{rnd}/report.xlsx",
                 "/dashboard/helpdesk/stats.csv", "/dashboard/people"):
        assert (await site.client.get(path)).status == 401, path
    site.english()
    await site.sign_in(5000)  # a registered villager who voted
    page = await site.client.get(f"/dashboard/rounds/{rnd}")
    assert page.status == 403 and "organisers, lawyers and administrators" in await page.text()


async def test_the_role_wall(site: Site) -> None:
    s = site.sample
    own = [f"/dashboard/rounds/{s.round_id}", f"/dashboard/rounds/{s.round_id}/report.xlsx",
           f"/dashboard/rounds/{s.round_id}/report.csv", f"/dashboard/rounds/{s.round_id}/chart.png",
           f"/dashboard/events/{s.event_id}", f"/dashboard/events/{s.event_id}/protocol.docx",
           f"/dashboard/people?aimak={s.kok_irim}", f"/dashboard/rounds/{s.round_id}/session"]
    others = [f"/dashboard/rounds/{s.other_round_id}", f"/dashboard/rounds/{s.other_round_id}/report.xlsx",
              f"/dashboard/rounds/{s.other_round_id}/report.csv", f"/dashboard/rounds/{s.other_round_id}/chart.png",
              f"/dashboard/events/{s.other_event_id}", f"/dashboard/events/{s.other_event_id}/protocol.docx",
              f"/dashboard/plans/{s.other_plan_id}", f"/dashboard/plans/{s.other_plan_id}/report.xlsx",
              f"/dashboard/plans/{s.other_plan_id}/report.docx", f"/dashboard/plans/{s.other_plan_id}/chart.png",
              f"/dashboard/people?aimak={s.cholpon}", f"/dashboard/rounds/{s.other_round_id}/session"]
    await site.sign_in(ORGANISER)
    for path in own:
        assert (await site.client.get(path)).status == 200, path
    for path in others:
        response = await site.client.get(path)
        assert response.status in (403, 404), path
        assert "Мост" not in await response.text()
    for path in ("/dashboard/helpdesk", "/dashboard/helpdesk/stats", "/dashboard/helpdesk/stats.xlsx",
                 "/dashboard/helpdesk/faq"):
        assert (await site.client.get(path)).status == 403, path
    listing = await (await site.client.get("/dashboard/rounds")).text()
    assert "ЖМБА 2026" in listing and "Чолпон 2026" not in listing
    audit = await (await site.client.get("/dashboard/audit")).text()
    assert "voting.session.record" in audit and "role.grant" not in audit  # roles are for admins
    csrf = await site.csrf()
    merge = await site.client.post(f"/dashboard/rounds/{s.other_round_id}/merge",
                                   data={"csrf": csrf, "problem": ["1", "2"]}, allow_redirects=False)
    assert merge.status == 404

    # The other aiyl aimak's organiser sees theirs and not Kök-Irim's.
    await site.sign_in(OTHER_ORGANISER)
    assert (await site.client.get(f"/dashboard/plans/{s.other_plan_id}")).status == 200
    assert (await site.client.get(f"/dashboard/plans/{s.other_plan_id}/report.docx")).status == 200
    assert (await site.client.get(f"/dashboard/rounds/{s.round_id}/report.xlsx")).status == 404
    assert (await site.client.get(f"/dashboard/events/{s.event_id}")).status == 404

    # A lawyer: the helpdesk, no aiyl aimak's pages.
    await site.sign_in(LAWYER)
    assert (await site.client.get("/dashboard/helpdesk/stats")).status == 200
    assert (await site.client.get("/dashboard/helpdesk/stats.xlsx")).status == 200
    for month in ("2026-13", "0-1", "soon"):  # a malformed month shows this month
        assert (await site.client.get(f"/dashboard/helpdesk/stats?month={month}")).status == 200
    assert (await site.client.get(f"/dashboard/rounds/{s.round_id}")).status == 404
    assert (await site.client.get("/dashboard/audit")).status == 403

    # An admin reads everything, but changes stay with the organisers, as in chat.
    await site.sign_in(ADMIN)
    for path in [*own[:-1], *others[:-1], "/dashboard/helpdesk", "/dashboard/audit?group=roles"]:
        assert (await site.client.get(path)).status == 200, path
    assert "role.grant" in await (await site.client.get("/dashboard/audit?group=roles")).text()
    csrf = await site.csrf()
    merge = await site.client.post(f"/dashboard/rounds/{s.round_id}/merge",
                                   data={"csrf": csrf, "problem": [str(p) for p in s.problem_ids[:2]]},
                                   allow_redirects=False)
    assert merge.status == 404


async def test_every_form_needs_its_csrf_token(site: Site) -> None:
    s = site.sample
    await site.sign_in(ORGANISER)
    chosen = {"problem": [str(p) for p in s.problem_ids[:2]]}
    for data in (chosen, {**chosen, "csrf": "0" * 64}):
        refused = await site.client.post(f"/dashboard/rounds/{s.round_id}/merge", data=data, allow_redirects=False)
        assert refused.status == 403
    async with site.db.session() as session:
        assert await voting.merges_of(session, s.round_id) == []
    csrf = await site.csrf()
    # Another person's token does not do either.
    other = Site(site.client, site.db, s, site.app)
    await other.sign_in(OTHER_ORGANISER)
    refused = await site.client.post(f"/dashboard/rounds/{s.round_id}/merge", data={**chosen, "csrf": csrf},
                                     allow_redirects=False)
    assert refused.status in (403, 404)
    await site.sign_in(ORGANISER)
    csrf = await site.csrf()
    done = await site.client.post(f"/dashboard/rounds/{s.round_id}/merge", data={**chosen, "csrf": csrf},
                                  allow_redirects=False)
    assert done.status == 303 and done.headers["Location"].endswith("?done=merged")
    async with site.db.session() as session:
        merges = await voting.merges_of(session, s.round_id)
    assert [(m.source_id, m.target_id) for m in merges] == [(s.problem_ids[1], s.problem_ids[0])]
    # htmx sends the token as a header.
    undo = await site.client.post(f"/dashboard/rounds/{s.round_id}/unmerge", data={"merge": str(merges[0].id)},
                                  headers={"X-CSRF-Token": csrf}, allow_redirects=False)
    assert undo.status == 303


async def test_the_session_form_refuses_what_the_chat_refuses(site: Site) -> None:
    s = site.sample
    await site.sign_in(ORGANISER)
    csrf = await site.csrf()
    async with site.db.session() as session:
        villages = await voting.round_villages(session, s.round_id)
    form = {"csrf": csrf, "village": str(villages[1].id), "age_band": "18-35", "held_on": "2026-11-21",
            "place": "Мектеп", "participants": "10", "women": "11", f"votes-{s.problem_ids[0]}": "8"}
    refused = await site.client.post(f"/dashboard/rounds/{s.round_id}/session", data=form)
    assert refused.status == 400 and "more women than participants" in await refused.text()
    assert 'value="Мектеп"' in await refused.text()  # what was typed stays
    for field, value, message in (("age_band", "99+", "not one of the age groups"),
                                  (f"votes-{s.problem_ids[0]}", "51", "more than five per participant"),
                                  ("participants", "ten", "whole numbers")):
        refused = await site.client.post(f"/dashboard/rounds/{s.round_id}/session",
                                         data={**form, "women": "4", field: value})
        assert refused.status == 400 and message in await refused.text(), field
    saved = await site.client.post(f"/dashboard/rounds/{s.round_id}/session", data={**form, "women": "4"},
                                   allow_redirects=False)
    assert saved.status == 303
    async with site.db.session() as session:
        held = [x for x in await voting.sessions_of(session, s.round_id) if x.place == "Мектеп"]
    assert [(x.participants, x.women, x.source) for x in held] == [(10, 4, "web")]


async def test_monitoring_photos_come_through_the_bots_getfile(site: Site) -> None:
    s = site.sample
    path = f"/dashboard/plans/{s.other_plan_id}/photo/{s.photo_answer_id}"
    await site.sign_in(OTHER_ORGANISER)
    plan = await (await site.client.get(f"/dashboard/plans/{s.other_plan_id}")).text()
    assert path in plan and "Көпүрө куруу" in plan and 'id="overdue"' in plan
    photo = await site.client.get(path)
    assert photo.status == 200 and photo.content_type == "image/png"
    assert await photo.read() == tiny_png(200, 150)
    assert (await site.client.get(f"/dashboard/plans/{s.other_plan_id}/photo/999")).status == 404
    await site.sign_in(ORGANISER)
    assert (await site.client.get(path)).status == 404


async def test_a_lawyer_corrects_an_faq_entry(site: Site) -> None:
    await site.sign_in(LAWYER)
    page = await (await site.client.get("/dashboard/helpdesk/faq")).text()
    entry = int(re.search(r'id="faq-(\d+)"', page).group(1))
    csrf = await site.csrf()
    saved = await site.client.post(f"/dashboard/helpdesk/faq/{entry}", allow_redirects=False, data={
        "csrf": csrf, "question": "Жер үлүшүн кантип алса болот?", "answer": "Айыл өкмөтүнө арыз жазыңыз.",
        "law_refs": "Жер кодекси"})
    assert saved.status == 303
    async with site.db.session() as session:
        hits = await faq_search(session, "арыз")
    assert [hit.entry.id for hit in hits] == [entry]  # the search follows the correction
    await site.sign_in(ORGANISER)
    csrf = await site.csrf()
    refused = await site.client.post(f"/dashboard/helpdesk/faq/{entry}", data={
        "csrf": csrf, "question": "x", "answer": "y"})
    assert refused.status == 403


async def test_an_organiser_announces_a_hearing_from_the_dashboard(site: Site) -> None:
    s = site.sample
    await site.sign_in(ORGANISER)
    page = await site.client.get("/dashboard/events/new")
    assert page.status == 200
    csrf = await site.csrf()
    when = (utcnow() + timedelta(days=12)).astimezone(site.app.settings.zone).strftime("%Y-%m-%dT%H:%M")
    form = {"csrf": csrf, "aimak": str(s.kok_irim), "kind": "hearing", "topic": "Жол <салуу>",
            "agenda": "1. Смета", "starts_at": when, "place": "Клуб", "whole": "1", "reminders": "1d, 2h",
            "rule": "present+chair"}
    preview = await site.client.post("/dashboard/events/new", data=form)
    text = await preview.text()
    assert preview.status == 200 and 'id="send"' in text
    assert "Жол &lt;салуу&gt;" in text and "<салуу>" not in text  # what people type is escaped
    assert "It goes to 9 registered villagers" in text
    async with site.db.session() as session:  # the preview keeps nothing
        assert len(await events_of(session, {s.kok_irim})) == 1
    past = await site.client.post("/dashboard/events/new", data={**form, "starts_at": "2020-01-01T10:00"})
    assert past.status == 400 and "in the future" in await past.text()
    foreign = await site.client.post("/dashboard/events/new", data={**form, "aimak": str(s.cholpon), "send": "1"})
    assert foreign.status == 400 and "Only organisers of this aiyl aimak" in await foreign.text()
    sent = await site.client.post("/dashboard/events/new", data={**form, "send": "1"}, allow_redirects=False)
    assert sent.status == 303
    async with site.db.session() as session:  # the fan-out is background work: a durable task, nothing queued yet
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert "event.notices" in await run_due_tasks(site.app)  # the announcement (and whatever else is due)
    async with site.db.session() as session:
        created = (await events_of(session, {s.kok_irim}))
        event = next(e for e in created if e.topic == "Жол <салуу>")
        assert event.reminder_minutes == [1440, 120]
        assert (await answers(session, event)).invited == 9  # invited, and the notices queued for them
        queued = await session.scalar(select(func.count()).select_from(OutboxMessage))
        assert queued >= 9  # a notice each, its calendar file attached (one message, issue 13)
    await site.sign_in(LAWYER)
    assert (await site.client.get("/dashboard/events/new")).status == 403


def _init_data(token: str, user_id: int, auth_date: int) -> str:
    fields = {"auth_date": str(auth_date), "query_id": "AAH", "user": json.dumps({"id": user_id, "first_name": "N"})}
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    return urlencode({**fields, "hash": hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()})


async def test_telegram_web_app_init_data(site: Site) -> None:
    token = site.app.settings.bot_token.get_secret_value()
    now = int(time.time())
    good = _init_data(token, ORGANISER, now)
    assert check_init_data(good, token) == ORGANISER
    assert check_init_data(good.replace("first_name", "first_nam"), token) is None  # tampered
    assert check_init_data(_init_data("1:other", ORGANISER, now), token) is None  # another bot's
    assert check_init_data(_init_data(token, ORGANISER, now - 7200), token) is None  # stale
    assert check_init_data("", token) is None
    response = await site.client.post("/dashboard/webapp", data={"init_data": good}, allow_redirects=False)
    assert response.status == 303
    assert (await site.client.get(f"/dashboard/rounds/{site.sample.round_id}")).status == 200
    site.client.session.cookie_jar.clear()
    forged = await site.client.post("/dashboard/webapp", data={"init_data": good[:-2] + "00"})
    assert forged.status == 401


async def test_the_language_switch_and_kyrgyz_pages(site: Site) -> None:
    await site.sign_in(ORGANISER, "ky")
    page = await (await site.client.get(f"/dashboard/rounds/{site.sample.round_id}")).text()
    assert 'lang="ky"' in page and "Ички жолдор" in page
    await site.client.get("/dashboard/lang/ru?next=/dashboard/rounds")
    page = await (await site.client.get(f"/dashboard/rounds/{site.sample.round_id}")).text()
    assert 'lang="ru"' in page and "Внутренние дороги" in page and "Скачать" not in page
    away = await site.client.get("/dashboard/lang/en?next=https://evil.example", allow_redirects=False)
    assert away.headers["Location"] == "/dashboard/"  # no open redirect


async def test_dashboard_command_in_chat(bot: Harness) -> None:
    organiser = await register(bot, 2101)
    villager = await register(bot, 2102)
    async with bot.db.session() as session:
        await grant(session, 2101, Role.ORGANISER, 1)
    await villager.send("/dashboard")
    assert "only for organisers, lawyers and administrators" in villager.last.text
    await organiser.send("/dashboard")
    text = organiser.last.text
    assert "valid once and for 10 minutes" in text
    link = re.search(r"https?://\S+/dashboard/login\?t=\S+", text)
    assert link is not None
    assert bot.app is not None
    server = web.Application()
    mount(server, bot.app)
    async with TestClient(TestServer(server)) as client:
        parts = urlsplit(link.group(0))
        token = parts.query.removeprefix("t=")
        signed = await client.post("/dashboard/login", data={"t": token})
        assert signed.status == 200 and "Көк-Ирим" in await signed.text()


async def test_the_round_page_says_which_phone_ballots_the_session_sheet_must_leave_out(site: Site) -> None:
    """Nobody counted twice: Арал's three villagers voted by phone before Арал's session was on record, so nobody
    asked them whether they took part in it; the round's page says so next to the sheet's participants."""
    s = site.sample
    await site.sign_in(ORGANISER)
    page = await (await site.client.get(f"/dashboard/rounds/{s.round_id}")).text()
    assert 'id="double-counts"' in page
    assert ("Арал: 3 villagers voted by phone without being asked whether they took part in the village&#39;s "
            "session") in page and "(12 participants)" in page
    assert "Бирдик: " not in page  # no session there: nothing to check


async def test_women_s_share_leaves_out_those_who_did_not_say_their_sex(site: Site) -> None:
    """A voter who did not say their sex is a group of their own on the round's page and the people page: the
    women's share is of those who said, so it does not read low."""
    import re

    from tests.test_voting_services import add_villager, person

    s = site.sample
    await site.sign_in(ORGANISER)
    before = await (await site.client.get(f"/dashboard/rounds/{s.round_id}")).text()
    people_before = await (await site.client.get("/dashboard/people")).text()
    assert 'id="not-said"' not in before
    await add_villager(site.db, 8801, "aral")  # no sex given
    async with site.db.session() as session:
        rnd = await voting.get_round(session, s.round_id)
        who = await person(session, 8801)
        await voting.cast_ballot(session, rnd, who, who.village_id, [s.problem_ids[0]])
    after = await (await site.client.get(f"/dashboard/rounds/{s.round_id}")).text()
    people_after = await (await site.client.get("/dashboard/people")).text()

    def share(page: str, where: str) -> str:
        return re.search(where, page, re.S).group(1)

    card = r'id="turnout">(\d+)</span>\s*· Women (\d+) \(([^)]*)\)'
    assert re.search(card, after).group(1) == str(int(re.search(card, before).group(1)) + 1)
    assert re.search(card, after).group(3) == re.search(card, before).group(3)  # the share did not drop
    assert share(after, r'id="not-said">(\d+)<') == "1"
    assert share(people_after, r'id="women-share">([^<]*)<') == share(people_before, r'id="women-share">([^<]*)<')


async def test_the_round_page_names_shared_places(site: Site) -> None:
    """Top 5 per village on the dashboard as in the chat and the report: problems with the same votes share a
    place, read "4–5", with a note (here Бирдик's phone votes: 3, 2, 2, 1, 1)."""
    import re

    s = site.sample
    await site.sign_in(ORGANISER)
    page = await (await site.client.get(f"/dashboard/rounds/{s.round_id}")).text()
    tops = page[page.index('id="tops"'):page.index("Participation by village")]
    birdik = tops[tops.index("Бирдик"):]
    birdik = birdik[:birdik.index("</div>")]
    assert re.findall(r'data-place="([^"]+)"', birdik) == ["1", "2–3", "2–3", "4–5", "4–5"]
    assert "places 2–3 shared: 2 problems with 2 votes each" in birdik
    assert "places 4–5 shared: 2 problems with 1 vote each" in birdik


async def test_the_event_page_shows_who_did_not_say_their_sex_apart(site: Site) -> None:
    """The answers to an event's notice: a villager who did not say their sex is counted in their own column and
    left out of the women's share."""
    import re

    from services import events
    from tests.test_voting_services import add_villager, person

    s = site.sample
    await site.sign_in(ORGANISER)
    before = await (await site.client.get(f"/dashboard/events/{s.event_id}")).text()
    row = r'data-answer="yes"><td>[^<]*</td><td class="n">(\d+)</td><td class="n">(\d+)</td><td class="n">(\d+)</td>' \
          r'<td class="n">([^<]*)</td>'
    people, women, not_said, share = re.search(row, before).groups()
    await add_villager(site.db, 8802, "aral")  # no sex given
    async with site.db.session() as session:
        event = await events.get_event(session, s.event_id)
        who = await person(session, 8802)
        await events.invite(session, event, [who])
        await events.respond(session, event.id, who, "yes")
    after = await (await site.client.get(f"/dashboard/events/{s.event_id}")).text()
    assert re.search(row, after).groups() == (str(int(people) + 1), women, str(int(not_said) + 1), share)
    assert share == f"{100 * int(women) // (int(people) - int(not_said))}%"  # of those who said


async def test_the_helpdesk_statistics_page_counts_women_among_those_who_asked(site: Site) -> None:
    """As in the chat's statistics: the people who asked, the women among them with their share, and those who
    did not say their sex apart."""
    await site.sign_in(LAWYER)
    page = await (await site.client.get("/dashboard/helpdesk/stats")).text()
    found = {key: re.search(rf'id="{key}">([^<]*)<', page).group(1)
             for key in ("askers", "askers-women", "askers-share", "askers-not-said")}
    people, women, not_said = int(found["askers"]), int(found["askers-women"]), int(found["askers-not-said"])
    assert people >= 1 and women + not_said <= people  # two questions in the sample
    said = people - not_said
    assert found["askers-share"] == (f"{round(100 * women / said)}%" if said else "—")
