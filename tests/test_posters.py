"""Posters: an A4 PDF and PNG per village whose QR code, read by a real decoder, is the village's link."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import zxingcpp
from PIL import Image

from bot.i18n import make_i18n
from bot.posters import make_posters
from services.places import COUNTRY_PLACES, SAMPLE_PLACES, import_places, village_by_link
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
