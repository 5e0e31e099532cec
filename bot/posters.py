"""``jamaat posters``: the posters' words in Kyrgyz and Russian, and the files for every village."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import in_language
from services.places import find_aiyl_aimak
from services.posters import Poster, PosterPlace, PosterText, poster_places, save

HEADING = __("Scan the code with your phone's camera")
LINES = (__("Choose together what your village needs most"), __("Hear about meetings and hearings in time"),
         __("Ask a lawyer a question, free of charge"))
AIMAK = __("{name} aiyl aimak")


class PostersError(ValueError):
    pass


def poster_text(i18n: I18n, language: str) -> PosterText:
    with in_language(i18n, language):
        return PosterText(str(HEADING), (str(LINES[0]), str(LINES[1]), str(LINES[2])))


def poster_for(place: PosterPlace, i18n: I18n) -> Poster:
    with in_language(i18n, "ky"):
        aimak_ky = str(AIMAK).format(name=place.aimak.name_ky)
    with in_language(i18n, "ru"):
        aimak_ru = str(AIMAK).format(name=place.aimak.name_ru)
    return Poster(village_ky=place.village.name_ky, village_ru=place.village.name_ru, aimak_ky=aimak_ky,
                  aimak_ru=aimak_ru, link=place.link, texts=(poster_text(i18n, "ky"), poster_text(i18n, "ru")))


@dataclass(frozen=True)
class Printed:
    village_id: int
    link: str
    files: list[Path]


async def make_posters(session: AsyncSession, i18n: I18n, out: Path, *, bot_username: str,
                       aiyl_aimak_code: str | None = None) -> list[Printed]:
    """PDF and PNG per village in ``out/<aiyl aimak code>/<village code>.*``."""
    aimak_id = None
    if aiyl_aimak_code:
        aimak = await find_aiyl_aimak(session, aiyl_aimak_code)
        if aimak is None:
            raise PostersError(f"no aiyl aimak with the code {aiyl_aimak_code!r}")
        aimak_id = aimak.id
    printed = []
    for place in await poster_places(session, bot_username=bot_username, aiyl_aimak_id=aimak_id):
        files = save(poster_for(place, i18n), out / place.aimak.code, place.village.code)
        printed.append(Printed(place.village.id, place.link, files))
    return printed
