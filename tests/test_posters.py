"""Posters: an A4 PDF and PNG per village whose QR code, read by a real decoder, is the village's link."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import zxingcpp
from PIL import Image

from bot.i18n import make_i18n
from bot.posters import make_posters
from services.places import COUNTRY_PLACES, SAMPLE_PLACES, find_aiyl_aimak, import_places, village_by_link
from storage.db import Database

KOK_IRIM = "41703223806000"


def decode(png: Path) -> list[str]:
    with Image.open(png) as image:
        return [result.text for result in zxingcpp.read_barcodes(image.convert("L"))]


async def test_posters_for_kok_irims_villages_carry_their_links(db: Database, tmp_path: Path) -> None:
    async with db.session() as session:
        await import_places(session, COUNTRY_PLACES)
        printed = await make_posters(session, make_i18n("ky"), tmp_path, bot_username="jamaat_bot",
                                     aiyl_aimak_code=KOK_IRIM)
        assert len(printed) == 2  # Арал and Бирдик
        for poster in printed:
            pdf, png = poster.files
            assert pdf.read_bytes().startswith(b"%PDF") and pdf.parent.name == KOK_IRIM
            with Image.open(png) as image:
                width, height = image.size
            assert abs(height / width - 297 / 210) < 0.01  # A4 portrait
            assert decode(png) == [poster.link]
            assert poster.link.startswith("https://t.me/jamaat_bot?start=v-")
            village = await village_by_link(session, poster.link.split("start=")[1])
            assert village is not None and village.id == poster.village_id
    assert len({p.link for p in printed}) == 2


def test_cli_posters(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env = {"JAMAAT_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "bot.cli"]
    subprocess.run([*run, "import-places", str(SAMPLE_PLACES)], env=env, capture_output=True, check=True)
    missing = subprocess.run([*run, "posters", "--aiyl-aimak", "kok-irim"], env=env, capture_output=True, text=True)
    assert missing.returncode == 2 and "JAMAAT_BOT_USERNAME" in missing.stderr
    env["JAMAAT_BOT_USERNAME"] = "@jamaat_bot"
    done = subprocess.run([*run, "posters", "--aiyl-aimak", "kok-irim", "--out", str(tmp_path / "out")], env=env,
                          capture_output=True, text=True, check=True)
    assert "posters: 2 villages" in done.stdout
    assert sorted(p.name for p in (tmp_path / "out" / "kok-irim").iterdir()) == [
        "aral.pdf", "aral.png", "birdik.pdf", "birdik.png"]
    unknown = subprocess.run([*run, "posters", "--aiyl-aimak", "nowhere"], env=env, capture_output=True, text=True)
    assert unknown.returncode == 2 and "nowhere" in unknown.stderr


async def test_an_organiser_gets_the_village_links_to_share_and_the_posters(bot) -> None:  # noqa: ANN001
    from services.roles import Role, grant

    async with bot.db.session() as session:
        kok_irim = await find_aiyl_aimak(session, "kok-irim")
        await grant(session, 1601, Role.ORGANISER, kok_irim.id)
    organiser = bot.user(1601, language_code="en")
    await organiser.send("/people")
    await organiser.tap(contains="Village links")
    links = organiser.last
    assert "https://t.me/jamaat_bot?start=v-" in links.text and "Арал" in links.text
    shares = [b for row in links.raw["reply_markup"]["inline_keyboard"] for b in row if "url" in b]
    assert len(shares) == 2 and all(b["url"].startswith("https://t.me/share/url?url=https%3A%2F%2Ft.me%2F")
                                    for b in shares)
    await organiser.tap(contains="Posters", message=links)
    await bot.emu.settle()
    pdfs = [m for m in organiser.messages if m.document is not None]
    assert len(pdfs) == 2 and all(m.document.data.startswith(b"%PDF") for m in pdfs)
    assert {m.text.split(": ")[1] for m in pdfs} == {line.split(": ")[1] for line in links.text.splitlines()[1:]}
    stranger = bot.user(1602, language_code="en")
    await stranger.tap_data(f"vlinks:posters:{kok_irim.id}", message=links)
    assert stranger.last_answer is None or "no longer active" in (stranger.last_answer[0] or "")
