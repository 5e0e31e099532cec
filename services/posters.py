"""Printable A4 posters, one per village: the place, what the bot is for, a QR code of the village's link.

Texts come translated (Kyrgyz and Russian on the same poster); this module only lays them out. matplotlib and
qrcode are imported when a poster is drawn, not when the bot starts."""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.places import ensure_link_code, village_links
from storage.models import AiylAimak, Village

A4_INCHES = (8.27, 11.69)
FORMATS = ("pdf", "png")


@dataclass(frozen=True)
class PosterText:
    """What one language says on the poster."""

    heading: str  # e.g. "Scan the code with your phone's camera"
    lines: tuple[str, str, str]  # what the bot is for, three short lines


@dataclass(frozen=True)
class Poster:
    village_ky: str
    village_ru: str
    aimak_ky: str  # "Көк-Ирим айыл аймагы"
    aimak_ru: str
    link: str
    texts: tuple[PosterText, PosterText]  # Kyrgyz, then Russian


@dataclass(frozen=True)
class PosterPlace:
    aimak: AiylAimak
    village: Village
    link: str


async def poster_places(session: AsyncSession, *, bot_username: str, aiyl_aimak_id: int | None = None,
                        whatsapp_number: str | None = None) -> list[PosterPlace]:
    """The villages to print (all, or one aiyl aimak's) with their links; link codes are given where missing."""
    query = (select(Village, AiylAimak).join(AiylAimak, AiylAimak.id == Village.aiyl_aimak_id)
             .order_by(AiylAimak.code, Village.code))
    if aiyl_aimak_id is not None:
        query = query.where(Village.aiyl_aimak_id == aiyl_aimak_id)
    places = []
    for village, aimak in (await session.execute(query)).all():
        code = await ensure_link_code(session, village)
        link = village_links(code, bot_username=bot_username, whatsapp_number=whatsapp_number).telegram
        assert link is not None
        places.append(PosterPlace(aimak, village, link))
    return places


def qr_matrix(link: str) -> list[list[bool]]:
    import qrcode  # noqa: PLC0415

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(link)
    code.make(fit=True)
    return code.get_matrix()


def render(poster: Poster, fmt: str, *, dpi: int = 150) -> bytes:
    """The poster as PDF or PNG bytes (A4 portrait)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown poster format {fmt!r}")
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=A4_INCHES)
    FigureCanvasAgg(figure)
    ky, ru = poster.texts

    def write(y: float, text: str, size: float, weight: str = "normal", colour: str = "#1a1a1a") -> None:
        figure.text(0.5, y, text, ha="center", va="center", fontsize=size, fontweight=weight, color=colour,
                    wrap=True)

    write(0.945, poster.village_ky, 34, "bold")
    if poster.village_ru != poster.village_ky:
        write(0.905, poster.village_ru, 20, colour="#444444")
    write(0.87, poster.aimak_ky, 16)
    write(0.845, poster.aimak_ru, 13, colour="#444444")
    for index, line in enumerate(ky.lines):
        write(0.79 - index * 0.032, line, 15)
    # The QR code, square, in the middle: modules drawn as an image, no smoothing.
    matrix = qr_matrix(poster.link)
    side = 0.42
    axes = figure.add_axes((0.5 - side * A4_INCHES[1] / A4_INCHES[0] / 2, 0.265, side * A4_INCHES[1] / A4_INCHES[0],
                            side))
    axes.imshow([[0 if dark else 1 for dark in row] for row in matrix], cmap="gray", vmin=0, vmax=1,
                interpolation="nearest")
    axes.set_axis_off()
    write(0.235, ky.heading, 14, "bold")
    write(0.21, ru.heading, 12, "bold", "#444444")
    for index, line in enumerate(ru.lines):
        write(0.165 - index * 0.028, line, 13, colour="#444444")
    write(0.04, poster.link, 10, colour="#666666")
    buffer = BytesIO()
    figure.savefig(buffer, format=fmt, dpi=dpi)
    return buffer.getvalue()


def save(poster: Poster, folder: Path, name: str) -> list[Path]:
    """``<folder>/<name>.pdf`` and ``.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in FORMATS:
        path = folder / f"{name}.{fmt}"
        path.write_bytes(render(poster, fmt))
        paths.append(path)
    return paths
