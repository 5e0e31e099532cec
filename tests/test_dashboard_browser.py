"""The dashboard in a real browser: Debian's Chromium, headless, driven by selenium against the real server.

An organiser signs in by the chat's one-time link, reads the Kök-Irim round's results and charts, merges two
problems and sees the totals change (htmx), enters a session's results, downloads the XLSX report and opens it;
views a hearing's answers; a lawyer reads the helpdesk statistics; and the role wall holds for another aiyl
aimak's pages and downloads. Screenshots of the main pages go to tests/artifacts/ for a person to look at.

Without Chromium the tests skip, unless CI=true (then they fail). One browser serves the whole module."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from bot.app import Jamaat
from bot.dashboard import mount
from bot.emulator import Emulator
from jobs.tasks import run_due_tasks
from services import dashboard as dash
from storage.db import Database
from storage.models import utcnow
from tests.dashboard_data import LAWYER, ORGANISER, OTHER_ORGANISER, Sample, build
from tests.harness import PATIENCE, harness_settings

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else shutil.which("chromedriver")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    """One headless Chromium for the module."""
    if not CHROMIUM or not CHROMEDRIVER:
        _unavailable("Chromium or chromedriver is not installed (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install -e '.[test]')")
    profile = tempfile.mkdtemp(prefix="jamaat-chromium-")
    downloads = tempfile.mkdtemp(prefix="jamaat-downloads-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", f"--user-data-dir={profile}", "--window-size=1280,1000", "--lang=ky"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": downloads,
                                              "download.prompt_for_download": False})
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    browser.downloads = Path(downloads)  # type: ignore[attr-defined]
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(downloads, ignore_errors=True)


@dataclass
class Page:
    """The browser, called from a thread so that the server in this event loop can answer it."""

    driver: Any
    base: str
    db: Database
    sample: Sample
    backend: str
    app: Any = None

    async def run(self, function: Any, *args: Any) -> Any:
        return await asyncio.to_thread(function, *args)

    async def open(self, path: str) -> None:
        await self.run(self.driver.get, self.base + path)

    async def sign_in(self, telegram_id: int) -> None:
        await self.run(self.driver.delete_all_cookies)
        async with self.db.session() as session:
            token = await dash.issue_link(session, telegram_id, minutes=5)
        await self.open(f"/dashboard/login?t={token}")
        await self.follow("#sign-in")
        assert await self.script("return location.pathname") == "/dashboard/"

    async def follow(self, css: str) -> None:
        """Click a link or button that loads a new page, and wait for that page."""
        await self.script("window.oldPage = true")
        await self.click(css)

        async def loaded(page: Page) -> bool:
            return bool(await page.script("return !window.oldPage && document.readyState === 'complete'"))

        await self.wait(loaded, f"the page after {css}")

    def _find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    async def click(self, css: str) -> None:
        await self.run(lambda: self._find(css).click())

    async def text(self, css: str) -> str:
        return await self.run(lambda: self._find(css).text)

    async def fill(self, css: str, value: str) -> None:
        def fill() -> None:
            element = self._find(css)
            if element.tag_name == "select":
                from selenium.webdriver.support.ui import Select

                Select(element).select_by_value(value)
            else:
                element.clear()
                element.send_keys(value)

        await self.run(fill)

    async def source(self) -> str:
        return await self.run(lambda: self.driver.page_source)

    async def script(self, code: str, *args: Any) -> Any:
        return await self.run(self.driver.execute_script, code, *args)

    async def wait(self, condition: Any, what: str, timeout: float = PATIENCE) -> Any:
        """Poll the page until ``condition(self)`` (an async function) is truthy."""
        deadline = time.monotonic() + timeout
        while True:
            value = await condition(self)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.1)

    async def image_loaded(self, css: str) -> bool:
        return bool(await self.script(
            "const i = document.querySelector(arguments[0]); i.scrollIntoView();"
            "return i.complete && i.naturalWidth > 100;", css))

    async def screenshot(self, name: str, width: int = 1280) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"dashboard-{name}-{self.backend}.png"
        # Written whole under a name of this process, then renamed: parallel workers (or runs) never leave a
        # half-written screenshot.
        partial = path.with_name(f".{path.stem}-{os.getpid()}.png")

        def shoot() -> None:
            self.driver.execute_script("window.scrollTo(0, 0)")
            height = self.driver.execute_script("return document.documentElement.scrollHeight")
            self.driver.set_window_size(width, min(max(height + 120, 700), 6000))
            self.driver.save_screenshot(str(partial))
            os.replace(partial, path)
            self.driver.set_window_size(1280, 1000)

        await self.run(shoot)
        return path


@pytest.fixture
async def page(driver: Any, db: Database, backend: str) -> AsyncIterator[Page]:
    async with Emulator() as emu:
        sample = await build(db, emu)
        app = Jamaat.create(harness_settings(emu, db), db=db)
        server = web.Application()
        mount(server, app)
        runner = web.AppRunner(server, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        try:
            yield Page(driver, f"http://127.0.0.1:{port}", db, sample, backend, app)
        finally:
            await runner.cleanup()
            await app.bot.session.close()


def _row_total(problem_id: int) -> Any:
    async def total(page: Page) -> str:
        return await page.text(f'tr[data-problem="{problem_id}"] td.total')

    return total


async def test_an_organiser_reads_the_round_merges_enters_a_session_and_downloads(page: Page) -> None:
    s = page.sample
    await page.sign_in(ORGANISER)
    assert "Көк-Ирим" in await page.source()
    await page.screenshot("home")

    await page.open(f"/dashboard/rounds/{s.round_id}")
    assert await page.script("return typeof htmx") == "object"  # the vendored htmx loaded, from us
    await page.script("window.stillHere = true")
    assert await page.wait(lambda p: p.image_loaded("#chart"), "the chart")
    first, second = s.problem_ids[:2]
    before_first, before_second = int(await page.text(f'tr[data-problem="{first}"] td.total')), int(
        await page.text(f'tr[data-problem="{second}"] td.total'))
    assert "Клубдун чатыры" in await page.text(f'tr[data-problem="{first}"]')  # 3 by phone, 9 in the session
    assert "Мектептин абалы" in await page.text(f'tr[data-problem="{second}"]')  # 2 by phone, 6 in the session
    assert "Ички жолдор" in await page.text("#problems")
    tops = await page.text("#tops")
    assert "Ички жолдор" in tops and "Арал" in tops and "Бирдик" in tops
    assert await page.text("#by-age") and await page.text("#by-sex") and "Клуб" in await page.text("#sessions")
    # One village's chart, swapped in place.
    await page.click('#chart-box a[href^="?village="]')

    async def village_chart(p: Page) -> bool:
        return "village=" in (await p.script("return document.getElementById('chart').src")) and await p.image_loaded(
            "#chart")

    await page.wait(village_chart, "the village's chart")
    assert await page.script("return window.stillHere === true")
    await page.screenshot("round")
    await page.screenshot("round-phone", width=412)

    # Merge the two leading problems: the totals change in place (htmx), without a full page load.
    await page.script("window.stillHere = true")
    await page.click(f"#pick-{first}")
    await page.click(f"#pick-{second}")
    await page.click("#merge")
    await page.wait(lambda p: p.script("return !!document.querySelector('#done')"), "the merge")
    merged = await page.wait(_row_total(first), "the merged total")
    assert int(merged) == before_first + before_second
    assert await page.script("return !document.querySelector(arguments[0])", f'tr[data-problem="{second}"]')
    assert await page.script("return window.stillHere === true")  # a partial update, not a new page
    await page.screenshot("round-merged")

    # An offline session's results, typed into the form.
    await page.follow("#enter-session")
    async with page.db.session() as session:
        from services import voting

        villages = await voting.round_villages(session, s.round_id)
    await page.fill("#village", str(villages[1].id))
    await page.fill("#age_band", "18-35")
    await page.fill("#place", "Бирдик мектеби")
    await page.fill("#participants", "20")
    await page.fill("#women", "11")
    await page.fill(f"#votes-{first}", "15")
    await page.screenshot("session-form")
    await page.script("document.getElementById('held_on').value = '2026-11-25'")
    await page.follow("#save-session")
    assert await page.script("return !!document.querySelector('#done')")
    assert "Бирдик мектеби" in await page.text("#sessions")
    assert int(await page.text(f'tr[data-problem="{first}"] td.total')) == before_first + before_second + 15

    # The XLSX report, downloaded by the browser and opened.
    for leftover in page.driver.downloads.glob("*"):
        leftover.unlink()
    await page.click("#download-xlsx")
    report = page.driver.downloads / f"round-{s.round_id}.xlsx"

    async def downloaded(_page: Page) -> bool:
        return report.exists() and report.stat().st_size > 0

    await page.wait(downloaded, "the XLSX download")
    from openpyxl import load_workbook

    book = load_workbook(report)
    cells = [str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert "Ички жолдор" in cells and "Бирдик мектеби" in cells
    assert len(book.worksheets) >= 6

    # The hearing: answers with women's share, the question received.
    await page.open(f"/dashboard/events/{s.event_id}")
    coming = await page.text('tr[data-answer="yes"]')
    assert coming.split()[-4:][0] == "4"  # people coming (then women, did not say, women's share)
    assert "Көпүрө качан курулат?" in await page.text("#questions")
    await page.screenshot("event")

    # In Russian, by the language switch.
    await page.follow('a[href^="/dashboard/lang/ru"]')
    assert "Бюджет 2027" in await page.source() and 'lang="ru"' in await page.source()

    for name, path in (("events", "/dashboard/events"), ("people", "/dashboard/people"),
                       ("audit", "/dashboard/audit"), ("rounds", "/dashboard/rounds")):
        await page.open(path)
        await page.screenshot(name)
    await page.open("/dashboard/audit?group=merges")
    assert "voting.problem.merge" in await page.text("#audit")


async def test_an_organiser_merges_two_problems_in_one_village_only(page: Page) -> None:
    """The dashboard's merge, like the chat's, can be limited to one village (the method merges within one
    village's gallery): that village's column sums the two, the other village keeps them apart, and the merges
    list names the village."""
    s = page.sample
    await page.sign_in(ORGANISER)
    async with page.db.session() as session:
        from services import voting

        aral, birdik = sorted(await voting.round_villages(session, s.round_id), key=lambda v: v.code)
    await page.open(f"/dashboard/rounds/{s.round_id}")
    first, second = s.problem_ids[:2]

    async def cell(problem: int, village: int) -> int:
        return int(await page.text(f'tr[data-problem="{problem}"] td[data-village="{village}"]'))

    before = {(p, v): await cell(p, v) for p in (first, second) for v in (aral.id, birdik.id)}
    assert before[(second, birdik.id)] > 0 and before[(second, aral.id)] > 0
    await page.script("window.stillHere = true")
    await page.click(f"#pick-{first}")
    await page.click(f"#pick-{second}")
    await page.fill("#merge-village", str(birdik.id))
    await page.fill('select[name="into"]', str(first))
    await page.screenshot("round-merge-village-form")
    await page.click("#merge")
    await page.wait(lambda p: p.script("return !!document.querySelector('#done')"), "the merge")
    assert await page.script("return window.stillHere === true")
    assert await cell(first, birdik.id) == before[(first, birdik.id)] + before[(second, birdik.id)]
    assert await cell(first, aral.id) == before[(first, aral.id)]  # Арал keeps them apart
    assert await cell(second, aral.id) == before[(second, aral.id)] and await cell(second, birdik.id) == 0
    merges = await page.text("#merges")
    assert "Бирдик" in merges and "Арал" not in merges
    await page.screenshot("round-merged-village")
    async with page.db.session() as session:
        found = await voting.merges_of(session, s.round_id)
    assert [(m.source_id, m.target_id, m.village_id) for m in found] == [(second, first, birdik.id)]


async def test_an_organiser_prepares_a_hearing(page: Page) -> None:
    await page.sign_in(ORGANISER)
    await page.open("/dashboard/events")
    await page.follow("#new-event")
    await page.fill("#kind", "hearing")
    await page.fill("#topic", "Суу түтүгү")
    await page.fill("#agenda", "1. Смета\n2. Ар түрдүү")
    await page.fill("#place", "Айыл өкмөтү")
    when = (utcnow() + timedelta(days=9)).astimezone(ZoneInfo("Asia/Bishkek")).strftime("%Y-%m-%dT%H:%M")
    await page.script("document.getElementById('starts_at').value = arguments[0]", when)
    await page.follow("#preview")
    assert "9" in await page.text("#recipients")
    assert "Суу түтүгү" in await page.text(".notice[lang=ru]")
    await page.screenshot("event-preview")
    await page.follow("#send")
    assert await page.script("return !!document.querySelector('#done')")
    assert "Суу түтүгү" in await page.text("h1")
    # The fan-out is background work: until it has run, the page says how many it is being queued for
    # (not "Invited: 0"); once it has run, the invited count.
    assert "9" in await page.text("#queuing")
    assert "event.notices" in await run_due_tasks(page.app)
    await page.run(page.driver.refresh)
    assert await page.text("#invited") == "9"
    assert not await page.script("return !!document.querySelector('#queuing')")


async def test_a_lawyer_reads_the_helpdesk_statistics(page: Page) -> None:
    await page.sign_in(LAWYER)
    await page.open("/dashboard/helpdesk/stats")
    assert await page.text("#asked") == "2"
    assert "Жер" in await page.text("#by-topic") and "Көк-Ирим" in await page.text("#by-municipality")
    assert await page.wait(lambda p: p.image_loaded("#chart"), "the helpdesk chart")
    await page.screenshot("helpdesk-stats")
    await page.open("/dashboard/helpdesk")
    assert "Жер" in await page.text("#queue")
    await page.screenshot("helpdesk-queue")
    await page.open("/dashboard/helpdesk/faq")
    await page.screenshot("helpdesk-faq")


async def test_the_role_wall_in_the_browser(page: Page) -> None:
    s = page.sample
    await page.sign_in(ORGANISER)
    for path in (f"/dashboard/rounds/{s.other_round_id}", f"/dashboard/events/{s.other_event_id}",
                 f"/dashboard/plans/{s.other_plan_id}", f"/dashboard/people?aimak={s.cholpon}",
                 f"/dashboard/rounds/{s.other_round_id}/report.xlsx",
                 f"/dashboard/plans/{s.other_plan_id}/report.docx",
                 f"/dashboard/events/{s.other_event_id}/protocol.docx"):
        await page.open(path)
        html = await page.source()
        assert 'id="message"' in html and "Чолпон 2026" not in html and "Суу" not in html, path
    await page.screenshot("refused")
    assert not any(page.driver.downloads.glob("plan-*")) and not any(page.driver.downloads.glob("protocol-*"))

    # Cholpon's organiser sees their plan.
    await page.sign_in(OTHER_ORGANISER)
    await page.open(f"/dashboard/plans/{s.other_plan_id}")
    assert "Чолпон 2026" in await page.source() and "Көпүрө куруу" in await page.text("#overdue")
    assert await page.wait(lambda p: p.image_loaded("figure img"), "the monitoring photo")  # through getFile
    await page.screenshot("plan")
