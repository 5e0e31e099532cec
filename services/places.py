"""The country's places: oblast → district → aiyl aimak → village; typed search; village links."""

from __future__ import annotations

import base64
import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from storage import direct
from storage.models import AiylAimak, District, Region, Village
from storage.search_key import normalise, search_key

DATA = Path(__file__).resolve().parent.parent / "storage" / "data"
SAMPLE_PLACES = DATA / "places-sample.csv"
# The whole country from the state classifier (see storage/data/README.md).
COUNTRY_PLACES = DATA / "kg-places.csv"
REQUIRED_COLUMNS = ("aiyl_aimak_code", "aiyl_aimak_ky", "aiyl_aimak_ru", "village_code", "village_ky", "village_ru")
LINK_PREFIX = "v-"  # /start v-<code>: register straight into that village
SEARCH_LIMIT = 8

__all__ = ["normalise", "search_key"]


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


def _cell(row: dict[str, str], name: str) -> str:
    return (row.get(name) or "").strip()


def link_code(aimak_code: str, village_code: str, length: int = 7) -> str:
    """A short code for the village's link, the same wherever the same file is loaded."""
    digest = hashlib.sha256(f"{aimak_code}/{village_code}".encode()).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:length]


async def import_places(session: AsyncSession, path: Path) -> ImportResult:
    """Load places from CSV (one row per village); a second import of the same file changes nothing.

    Optional columns: ``region_code, region_ky, region_ru, district_code, district_ky, district_ru`` (the
    hierarchy), ``district, region`` (names only), ``population, households``. A municipality's own file
    updates the rows with the same codes and adds the rest."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise PlacesFileError(f"{path}: missing columns {', '.join(missing)}")
        rows = list(reader)
    regions = {r.code: r for r in (await session.scalars(select(Region))).all()}
    districts = {d.code: d for d in (await session.scalars(select(District))).all()}
    aimaks = {a.code: a for a in (await session.scalars(select(AiylAimak))).all()}
    by_id = {a.id: a for a in aimaks.values()}
    villages = {(by_id[v.aiyl_aimak_id].code, v.code): v for v in (await session.scalars(select(Village))).all()}
    codes = {v.link_code for v in villages.values() if v.link_code}
    added_aimaks = added_villages = updated_villages = 0
    for line, row in enumerate(rows, start=2):
        code, village_code = _cell(row, "aiyl_aimak_code"), _cell(row, "village_code")
        if not code or not village_code:
            raise PlacesFileError(f"{path}:{line}: empty code")
        district = None
        if _cell(row, "district_code"):
            region = None
            if _cell(row, "region_code"):
                region = regions.get(_cell(row, "region_code"))
                if region is None:
                    region = Region(code=_cell(row, "region_code"))
                    session.add(region)
                    regions[region.code] = region
                region.name_ky = _cell(row, "region_ky") or _cell(row, "region_ru")
                region.name_ru = _cell(row, "region_ru") or region.name_ky
            district = districts.get(_cell(row, "district_code"))
            if district is None:
                if region is None:
                    raise PlacesFileError(f"{path}:{line}: a new district needs its region_code")
                district = District(code=_cell(row, "district_code"), region=region)
                session.add(district)
                districts[district.code] = district
            district.name_ky = _cell(row, "district_ky") or _cell(row, "district_ru")
            district.name_ru = _cell(row, "district_ru") or district.name_ky
        aimak = aimaks.get(code)
        if aimak is None:
            aimak = AiylAimak(code=code, name_ky="", name_ru="")
            session.add(aimak)
            aimaks[code] = aimak
            added_aimaks += 1
        aimak.name_ky = _cell(row, "aiyl_aimak_ky")
        aimak.name_ru = _cell(row, "aiyl_aimak_ru")
        aimak.search_key = search_key(aimak.name_ky, aimak.name_ru, _cell(row, "aiyl_aimak_official_ru"))
        if district is not None:
            aimak.district_unit = district
            aimak.district = district.name_ru
            aimak.region = district.region.name_ru if district.region else aimak.region
        aimak.district = _cell(row, "district") or aimak.district
        aimak.region = _cell(row, "region") or aimak.region
        village = villages.get((code, village_code))
        if village is None:
            village = Village(aiyl_aimak=aimak, code=village_code)
            session.add(village)
            villages[(code, village_code)] = village
            added_villages += 1
        else:
            updated_villages += 1
        village.name_ky = _cell(row, "village_ky")
        village.name_ru = _cell(row, "village_ru")
        village.search_key = search_key(village.name_ky, village.name_ru)
        if village.link_code is None:
            village.link_code = _free_code(code, village_code, codes)
        try:
            village.population = _optional_int(row.get("population")) or village.population
            village.households = _optional_int(row.get("households")) or village.households
        except ValueError as exc:
            raise PlacesFileError(f"{path}:{line}: {exc}") from None
    await session.flush()
    return ImportResult(added_aimaks, added_villages, updated_villages)


def _free_code(aimak_code: str, village_code: str, taken: set[str]) -> str:
    for length in range(7, 14):
        candidate = link_code(aimak_code, village_code, length)
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise PlacesFileError(f"no free link code for {aimak_code}/{village_code}")  # pragma: no cover


# --------------------------------------------------------------------------- browsing


async def list_regions(session: AsyncSession) -> list[Region]:
    return list((await session.scalars(select(Region).order_by(Region.name_ky))).all())


async def list_districts(session: AsyncSession, region_id: int) -> list[District]:
    query = select(District).where(District.region_id == region_id).order_by(District.name_ky)
    return list((await session.scalars(query)).all())


async def list_aiyl_aimaks(session: AsyncSession, district_id: int | None = None) -> list[AiylAimak]:
    """Every aiyl aimak, or those of one district, for lists that name them: without their district and oblast
    (the ORM joins them by default; ``district_name`` cannot be used on these)."""
    query = (select(AiylAimak).options(lazyload(AiylAimak.district_unit))
             .order_by(AiylAimak.name_ky, AiylAimak.id))
    if district_id is not None:
        query = query.where(AiylAimak.district_id == district_id)
    return list((await session.scalars(query)).all())


async def list_villages(session: AsyncSession, aiyl_aimak_id: int) -> list[Village]:
    query = select(Village).where(Village.aiyl_aimak_id == aiyl_aimak_id).order_by(Village.name_ky)
    return list((await session.scalars(query)).all())


@dataclass(frozen=True, slots=True)
class Named:
    """A place as a list of buttons names it (``place_name``): its id and both names, not an ORM object."""

    id: int
    name_ky: str
    name_ru: str


_AIMAKS_BY_NAME = select(AiylAimak.id, AiylAimak.name_ky, AiylAimak.name_ru).order_by(AiylAimak.name_ky, AiylAimak.id)
_AIMAK_NAMES = direct.Direct(_AIMAKS_BY_NAME)
_FIRST_AIMAK_NAMES = direct.Direct(_AIMAKS_BY_NAME.limit(bindparam("limit", type_=Integer)))
_DISTRICT_AIMAK_NAMES = direct.Direct(_AIMAKS_BY_NAME.where(AiylAimak.district_id == bindparam("district")))
_VILLAGE_NAMES = direct.Direct(select(Village.id, Village.name_ky, Village.name_ru)
                               .where(Village.aiyl_aimak_id == bindparam("aimak"))
                               .order_by(Village.name_ky, Village.id))


async def aiyl_aimak_names(session: AsyncSession, district_id: int | None = None, *,
                           limit: int | None = None) -> list[Named]:
    """The registration's list of aiyl aimaks (every one, the first ``limit`` or a district's), by name: read
    straight on the driver (``storage.direct``), as names only. The registration asks at every newcomer's
    contact, and for the whole country's 453 the ORM's objects cost more than the rest of that update."""
    if district_id is not None:
        found = await direct.rows(session, _DISTRICT_AIMAK_NAMES, {"district": district_id})
    elif limit is not None:
        found = await direct.rows(session, _FIRST_AIMAK_NAMES, {"limit": limit})
    else:
        found = await direct.rows(session, _AIMAK_NAMES)
    return [Named(*row) for row in found]


async def village_names(session: AsyncSession, aiyl_aimak_id: int) -> list[Named]:
    """The registration's list of an aiyl aimak's villages by name (as ``aiyl_aimak_names``)."""
    return [Named(*row) for row in await direct.rows(session, _VILLAGE_NAMES, {"aimak": aiyl_aimak_id})]


async def find_aiyl_aimak(session: AsyncSession, code: str) -> AiylAimak | None:
    return await session.scalar(select(AiylAimak).where(AiylAimak.code == code))


def place_name(place: AiylAimak | Village | District | Region | Named, language: str) -> str:
    """Russian names for Russian readers; Kyrgyz for everyone else (Uzbek and English included)."""
    return place.name_ru if language == "ru" else place.name_ky


def district_name(aimak: AiylAimak, language: str) -> str:
    """The aiyl aimak's district, as the hierarchy or the municipality's own file names it ("" if unknown)."""
    if aimak.district_unit is not None:
        return place_name(aimak.district_unit, language)
    return aimak.district or ""


# --------------------------------------------------------------------------- typed search


@dataclass(frozen=True)
class PlaceHit:
    """A village or aiyl aimak matching typed letters; ``district`` is set when another unit has the same name."""

    kind: str  # "village" | "aimak"
    id: int
    aiyl_aimak_id: int
    name_ky: str
    name_ru: str
    aimak_ky: str
    aimak_ru: str
    district_ky: str
    district_ru: str
    same_name: bool

    def label(self, language: str) -> str:
        name = self.name_ru if language == "ru" else self.name_ky
        aimak = self.aimak_ru if language == "ru" else self.aimak_ky
        district = self.district_ru if language == "ru" else self.district_ky
        parts = [name]
        if self.kind == "village" and aimak and aimak != name:
            parts.append(aimak)
        if self.same_name and district:
            parts.append(district)
        return ", ".join(parts)


def _rank(key: str, query: str) -> int:
    """0: a name starts with the letters; 1: they are inside a name."""
    return 0 if any(part.startswith(query) for part in key.split(" ")) else 1


async def search_places(session: AsyncSession, text: str, *, limit: int = SEARCH_LIMIT,
                        aiyl_aimak_ids: set[int] | None = None) -> list[PlaceHit]:
    """Villages and aiyl aimaks whose name contains the typed letters, in any of the spellings ``normalise``
    joins; names that start with them first, then shorter names. Two letters at least."""
    query = normalise(text)
    if len(query) < 2:
        return []
    pattern = f"%{query}%"  # the key has only [a-z0-9]: nothing to escape
    # Plain columns, no ORM objects: this runs at every few typed letters.
    place_columns = (AiylAimak.id, AiylAimak.name_ky, AiylAimak.name_ru, District.name_ky, District.name_ru,
                     AiylAimak.district)
    villages = (select(Village.id, Village.name_ky, Village.name_ru, Village.search_key, *place_columns)
                .join(AiylAimak, AiylAimak.id == Village.aiyl_aimak_id)
                .outerjoin(District, District.id == AiylAimak.district_id)
                .where(Village.search_key.like(pattern)))
    aimaks = (select(AiylAimak.id, AiylAimak.name_ky, AiylAimak.name_ru, AiylAimak.search_key, *place_columns)
              .outerjoin(District, District.id == AiylAimak.district_id)
              .where(AiylAimak.search_key.like(pattern)))
    if aiyl_aimak_ids is not None:
        villages = villages.where(Village.aiyl_aimak_id.in_(aiyl_aimak_ids))
        aimaks = aimaks.where(AiylAimak.id.in_(aiyl_aimak_ids))
    found: list[tuple[tuple[int, int, int, str], str, tuple]] = []
    for order, kind, statement in ((0, "village", villages), (1, "aimak", aimaks)):
        for row in (await session.execute(statement.limit(200))).all():
            found.append(((_rank(row[3], query), order, len(row[1]), row[1]), kind, tuple(row)))
    found.sort(key=lambda item: item[0])
    found = found[:limit]
    shared = await _shared_names(session, {row[1] for _, _, row in found})
    hits = []
    for _, kind, row in found:
        place_id, name_ky, name_ru, _key, aimak_id, aimak_ky, aimak_ru, district_ky, district_ru, district = row
        hits.append(PlaceHit(
            kind=kind, id=place_id, aiyl_aimak_id=aimak_id, name_ky=name_ky, name_ru=name_ru,
            aimak_ky=aimak_ky, aimak_ru=aimak_ru, district_ky=district_ky or district or "",
            district_ru=district_ru or district or "",
            same_name=(kind, name_ky) in shared or sum(1 for _, k, r in found if k == kind and r[1] == name_ky) > 1,
        ))
    return hits


async def _shared_names(session: AsyncSession, names: set[str]) -> set[tuple[str, str]]:
    """(kind, name) pairs carried by more than one unit of the kind in the whole country."""
    if not names:
        return set()
    shared: set[tuple[str, str]] = set()
    for kind, model in (("village", Village), ("aimak", AiylAimak)):
        query = (select(model.name_ky).where(model.name_ky.in_(names)).group_by(model.name_ky)
                 .having(func.count() > 1))
        shared |= {(kind, name) for name in (await session.scalars(query)).all()}
    return shared


# --------------------------------------------------------------------------- village links


@dataclass(frozen=True)
class VillageLinks:
    payload: str  # what follows /start, or the WhatsApp message text
    telegram: str | None
    whatsapp: str | None


async def ensure_link_code(session: AsyncSession, village: Village) -> str:
    """The village's link code, given now if the village came without one (e.g. added by hand)."""
    if village.link_code is None:
        aimak = await session.get(AiylAimak, village.aiyl_aimak_id)
        taken = set((await session.scalars(select(Village.link_code).where(Village.link_code.is_not(None)))).all())
        village.link_code = _free_code(aimak.code if aimak else str(village.aiyl_aimak_id), village.code, taken)
        await session.flush()
    return village.link_code


def village_links(code: str, *, bot_username: str | None, whatsapp_number: str | None = None) -> VillageLinks:
    """The links that register a newcomer straight into the village: Telegram's ``?start=`` deep link and
    WhatsApp's ``wa.me`` link with the code as the first message (None where the channel is not set up)."""
    payload = f"{LINK_PREFIX}{code}"
    telegram = f"https://t.me/{bot_username.lstrip('@')}?start={payload}" if bot_username else None
    digits = "".join(c for c in whatsapp_number or "" if c.isdigit())
    whatsapp = f"https://wa.me/{digits}?text={quote(payload)}" if digits else None
    return VillageLinks(payload, telegram, whatsapp)


async def village_by_link(session: AsyncSession, payload: str) -> Village | None:
    """The village a link's payload (``v-<code>``, or the code alone) names; None for anything else."""
    payload = payload.strip().lower()
    code = payload[len(LINK_PREFIX):] if payload.startswith(LINK_PREFIX) else payload
    if not code or len(code) > 16 or not code.isalnum():
        return None
    return await session.scalar(select(Village).where(Village.link_code == code))
