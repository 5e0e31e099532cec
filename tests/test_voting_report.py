"""The needs-assessment export (CSV, XLSX) and the chart, checked against hand-computed numbers."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from services import voting
from services.voting_report import chart_png, tables, to_csv, to_xlsx
from storage.db import Database
from tests.test_voting_services import BANDS, PROTOCOL_CSV, places, protocol_round, villagers_vote

ZONE = ZoneInfo("Asia/Bishkek")


def english(message: str) -> str:
    return message


def sections(data: bytes, titles: list[str]) -> dict[str, list[list[str]]]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    found: dict[str, list[list[str]]] = {}
    current: list[list[str]] = []
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
        if row == [] or (len(row) == 1 and row[0] in titles):
            current = found.setdefault(row[0], []) if row else current
            continue
        current.append(row)
    return found


async def test_export_matches_hand_computed_numbers(db: Database) -> None:
    round_id, problems = await protocol_round(db)
    await villagers_vote(db, round_id, problems)
    villages = await places(db)
    async with db.session() as session:
        rnd = await voting.get_round(session, round_id)
        await voting.import_sessions_csv(session, rnd, PROTOCOL_CSV, by=5001, age_bands=BANDS)
        await voting.merge_problems(session, rnd, problems["irrigation water"], problems["drinking water"], by=5001)
        await voting.close_round(session, rnd, by=5001)
        result = await voting.results(session, rnd)
    parts = tables(result, gettext=english, language="en", zone=ZONE)
    found = sections(to_csv(parts, language="en"), [t.title for t in parts])
    people = found["Villages and participation"]
    assert people[0][:4] == ["Village", "Population", "Households", "Registered villagers"]
    # Those who did not say their sex are a column of their own, outside the women's share (Бирдик: 1 of 2).
    assert people[1] == ["Арал", "", "", "3", "3", "2", "20", "9", "23", "11", "0", "48%"]
    assert people[2] == ["Бирдик", "", "", "3", "3", "1", "0", "0", "3", "1", "1", "50%"]
    assert people[3][0] == "Aiyl aimak in all" and people[3][8:] == ["26", "12", "1", "48%"]
    assert found["Sessions by age group"][1] == ["Арал", "18–35", "3/12/26", "Школа №1", "20", "9", "0", "45%", "75"]
    merged = {row[2]: row for row in found["Problems and votes (merges applied)"][1:]}
    # columns: No., ky, ru, competence, merged from, Арал, Бирдик, total, by phone, in sessions
    assert merged["Питьевая вода"][4:] == ["Поливная вода", "21", "2", "23", "4", "19"]
    assert "Поливная вода" not in merged
    as_voted = {row[2]: row for row in found["Problems and votes as voted (before merges)"][1:]}
    assert as_voted["Поливная вода"][4:] == ["9", "1", "10", "1", "9"]
    top = [row for row in found["Top 5 per village"][1:] if row[0] == "Арал" and row[1] == "merges applied"]
    # Shared places are named as ranges wherever they are, the one at the cut also says all are shown.
    assert [(row[2], row[3], row[4]) for row in top] == [
        ("1", "Питьевая вода", "21"), ("2–3", "Внутренние дороги", "12"), ("2–3", "Крыша клуба", "12"),
        ("4", "Состояние школы", "10"), ("5–6", "Нет детского сада", "7"), ("5–6", "Нет уличного освещения", "7")]
    assert top[1][5] == top[2][5] == "places 2–3 shared: 2 problems with 12 votes each" and top[0][5] == ""
    assert top[4][5] == top[5][5] == ("places 5–6 shared: 2 problems with 7 votes each; "
                                      "tie at place 5: 2 problems with 7 votes each, all shown")
    before = [row for row in found["Top 5 per village"][1:] if row[0] == "Арал" and row[1] == "as voted"]
    assert [row[3] for row in before][-1] == "Поливная вода" and len(before) == 5
    assert len(found["Merges"]) == 2

    book = load_workbook(io.BytesIO(to_xlsx(parts, language="en")))
    sheet = book["Villages and participation"]
    assert [c.value for c in sheet[3]] == ["Арал", None, None, 3, 3, 2, 20, 9, 23, 11, 0, 11 / 23]
    assert sheet.cell(row=3, column=12).number_format == "0.0%"
    assert "Top 5 per village" in book.sheetnames and "Merges" in book.sheetnames

    image = chart_png(result, gettext=english, language="ru", village_id=villages["aral"])
    assert image.startswith(b"\x89PNG") and len(image) > 5000
