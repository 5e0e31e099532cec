"""The country's places: the shipped classifier, a municipality's own file on top, typed search, village links."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.places import (
    COUNTRY_PLACES,
    SAMPLE_PLACES,
    ensure_link_code,
    find_aiyl_aimak,
    import_places,
    list_aiyl_aimaks,
    list_districts,
    list_regions,
    list_villages,
    normalise,
    search_places,
    village_by_link,
    village_links,
)
from storage.db import Database
from storage.models import AiylAimak, District, Region, Village

KOK_IRIM = "41703223806000"


def test_spellings_meet() -> None:
    assert normalise("Көк-Ирим") == normalise("Кок-Ирим") == normalise("kok irim") == normalise("Kök-Irim")
    assert normalise("Жалал-Абад") == normalise("Джалал-Абад") == normalise("Dzhalal-Abad") == normalise("jalal abad")
    assert normalise("Чоң-Алай") == normalise("Chong-Alay")


def test_the_country_file_is_complete_where_the_classifier_is() -> None:
    with COUNTRY_PLACES.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len({r["region_code"] for r in rows}) == 7
    assert len({r["district_code"] for r in rows}) == 40
    assert len({r["aiyl_aimak_code"] for r in rows}) == 453
    assert len({r["village_code"] for r in rows}) == len(rows) > 1800
    assert all(r["aiyl_aimak_ky"] and r["aiyl_aimak_ru"] and r["village_ky"] and r["village_ru"] for r in rows)


async def test_country_import_builds_the_hierarchy_and_is_idempotent(db: Database) -> None:
    async with db.session() as session:
        first = await import_places(session, COUNTRY_PLACES)
    async with db.session() as session:
        second = await import_places(session, COUNTRY_PLACES)
        counts = [await session.scalar(select(func.count()).select_from(model))
                  for model in (Region, District, AiylAimak, Village)]
        codes = await session.scalar(select(func.count(func.distinct(Village.link_code))))
        jalal_abad = next(r for r in await list_regions(session) if r.name_ru == "Джалал-Абадская область")
        toguz_toro = next(d for d in await list_districts(session, jalal_abad.id) if d.name_ky == "Тогуз-Торо району")
        aimaks = [a.name_ky for a in await list_aiyl_aimaks(session, toguz_toro.id)]
        kok_irim = await find_aiyl_aimak(session, KOK_IRIM)
        assert kok_irim is not None and kok_irim.name_ky == "Көк-Ирим" and kok_irim.name_ru == "Кок-Ирим"
        assert [v.name_ru for v in await list_villages(session, kok_irim.id)] == ["Арал", "Бирдик"]
    assert counts[:3] == [7, 40, 453] and counts[3] > 1800 and codes == counts[3]
    assert "Көк-Ирим" in aimaks and len(aimaks) == 5
    assert first.aiyl_aimaks_added == 453 and first.villages_added == counts[3]
    assert second.aiyl_aimaks_added == 0 and second.villages_added == 0 and second.villages_updated == counts[3]


async def test_a_municipalitys_own_file_goes_on_top(db: Database, tmp_path: Path) -> None:
    own = tmp_path / "own.csv"
    own.write_text("aiyl_aimak_code,aiyl_aimak_ky,aiyl_aimak_ru,village_code,village_ky,village_ru,population\n"
                   f"{KOK_IRIM},Көк-Ирим,Кок-Ирим,41703223806010,Арал,Арал,1450\n"
                   f"{KOK_IRIM},Көк-Ирим,Кок-Ирим,new-camp,Жаңы-Конуш,Новый посёлок,\n", encoding="utf-8")
    async with db.session() as session:
        await import_places(session, COUNTRY_PLACES)
        result = await import_places(session, own)
        kok_irim = await find_aiyl_aimak(session, KOK_IRIM)
        assert kok_irim is not None and kok_irim.district_unit is not None
        villages = {v.name_ky: v for v in await list_villages(session, kok_irim.id)}
        hits = await search_places(session, "жаны-кон")
    assert result.aiyl_aimaks_added == 0 and result.villages_added == 1 and result.villages_updated == 1
    assert villages["Арал"].population == 1450 and set(villages) == {"Арал", "Бирдик", "Жаңы-Конуш"}
    assert [h.name_ky for h in hits] == ["Жаңы-Конуш"] and villages["Жаңы-Конуш"].link_code


@pytest.mark.parametrize("typed", ["Көк-Ирим", "Кок-Ирим", "kok irim", "kök-i", "КОК ИР"])
async def test_typed_letters_find_kok_irim_first(db: Database, typed: str) -> None:
    async with db.session() as session:
        await import_places(session, COUNTRY_PLACES)
        hits = await search_places(session, typed)
    assert hits and hits[0].kind == "aimak" and hits[0].name_ky == "Көк-Ирим"
    assert hits[0].label("ru") == "Кок-Ирим"


async def test_a_village_is_found_with_its_aiyl_aimak_and_same_names_show_the_district(db: Database) -> None:
    async with db.session() as session:
        await import_places(session, COUNTRY_PLACES)
        birdik = await search_places(session, "бирдик")
        ak_suu = await search_places(session, "ак-суу", limit=20)
        nothing = await search_places(session, "к")
    assert any(h.kind == "village" and h.aimak_ky == "Көк-Ирим" for h in birdik)
    same = [h for h in ak_suu if h.kind == "aimak" and h.name_ky == "Ак-Суу"]
    assert len(same) > 1 and all(h.same_name for h in same)
    assert len({h.label("ky") for h in same}) == len(same)  # the district tells them apart
    assert all("району" in h.label("ky") for h in same)
    assert nothing == []


async def test_village_links_resolve_to_their_village(db: Database) -> None:
    async with db.session() as session:
        await import_places(session, SAMPLE_PLACES)
        aral = (await session.scalars(select(Village).where(Village.code == "aral"))).one()
        code = await ensure_link_code(session, aral)
        links = village_links(code, bot_username="@jamaat_bot", whatsapp_number="+996 555 123 456")
        assert links.telegram == f"https://t.me/jamaat_bot?start=v-{code}"
        assert links.whatsapp == f"https://wa.me/996555123456?text=v-{code}"
        assert (await village_by_link(session, links.payload)).id == aral.id
        assert (await village_by_link(session, code.upper())).id == aral.id
        assert await village_by_link(session, "v-nope") is None
        assert await village_by_link(session, "event_12") is None
        hand_made = Village(aiyl_aimak_id=aral.aiyl_aimak_id, code="by-hand", name_ky="Жаңы", name_ru="Новый")
        session.add(hand_made)
        await session.flush()
        assert hand_made.link_code is None
        assert len(await ensure_link_code(session, hand_made)) == 7
    assert village_links(code, bot_username=None).telegram is None
