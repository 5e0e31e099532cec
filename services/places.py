"""Aiyl aimaks and their villages."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AiylAimak, Village

SAMPLE_PLACES = Path(__file__).resolve().parent.parent / "storage" / "data" / "places-sample.csv"
REQUIRED_COLUMNS = ("aiyl_aimak_code", "aiyl_aimak_ky", "aiyl_aimak_ru", "village_code", "village_ky", "village_ru")


class PlacesFileError(ValueError):
    pass


@dataclass(frozen=True)
class ImportResult:
    aiyl_aimaks_added: int
    villages_added: int
    villages_updated: int


def _optional_int(value: str | None) -> int | None:
    value = (value or "").strip().replace(" ", "")
    return int(value) if value else None


async def import_places(session: AsyncSession, path: Path) -> ImportResult:
    """Load places from CSV; a second import of the same file changes nothing."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise PlacesFileError(f"{path}: missing columns {', '.join(missing)}")
        rows = list(reader)
    aimaks = {a.code: a for a in (await session.scalars(select(AiylAimak))).all()}
    added_aimaks = added_villages = updated_villages = 0
    for line, row in enumerate(rows, start=2):
        code = row["aiyl_aimak_code"].strip()
        if not code or not row["village_code"].strip():
            raise PlacesFileError(f"{path}:{line}: empty code")
        aimak = aimaks.get(code)
        if aimak is None:
            aimak = AiylAimak(code=code, name_ky="", name_ru="")
            session.add(aimak)
            aimaks[code] = aimak
            added_aimaks += 1
        aimak.name_ky = row["aiyl_aimak_ky"].strip()
        aimak.name_ru = row["aiyl_aimak_ru"].strip()
        aimak.district = (row.get("district") or "").strip() or aimak.district
        aimak.region = (row.get("region") or "").strip() or aimak.region
        await session.flush()
        village = await session.scalar(
            select(Village).where(Village.aiyl_aimak_id == aimak.id, Village.code == row["village_code"].strip())
        )
        if village is None:
            village = Village(aiyl_aimak_id=aimak.id, code=row["village_code"].strip())
            session.add(village)
            added_villages += 1
        else:
            updated_villages += 1
        village.name_ky = row["village_ky"].strip()
        village.name_ru = row["village_ru"].strip()
        try:
            village.population = _optional_int(row.get("population")) or village.population
            village.households = _optional_int(row.get("households")) or village.households
        except ValueError as exc:
            raise PlacesFileError(f"{path}:{line}: {exc}") from None
    await session.flush()
    return ImportResult(added_aimaks, added_villages, updated_villages)


async def list_aiyl_aimaks(session: AsyncSession) -> list[AiylAimak]:
    return list((await session.scalars(select(AiylAimak).order_by(AiylAimak.name_ky))).all())


async def list_villages(session: AsyncSession, aiyl_aimak_id: int) -> list[Village]:
    query = select(Village).where(Village.aiyl_aimak_id == aiyl_aimak_id).order_by(Village.name_ky)
    return list((await session.scalars(query)).all())


async def find_aiyl_aimak(session: AsyncSession, code: str) -> AiylAimak | None:
    return await session.scalar(select(AiylAimak).where(AiylAimak.code == code))


def place_name(place: AiylAimak | Village, language: str) -> str:
    """Russian names for Russian readers; Kyrgyz for everyone else (Uzbek and English included)."""
    return place.name_ru if language == "ru" else place.name_ky
