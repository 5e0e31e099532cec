"""``jamaat demo``: the Bot API emulator, the real bot on a SQLite file and a web chat, offline."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import Jamaat, stop_polling
from bot.dashboard import serve as serve_dashboard
from bot.emulator import Emulator
from bot.emulator.whatsapp import WhatsAppEmulator
from bot.emulator.whatsapp_web import WhatsAppWebChat
from bot.settings import Settings
from bot.whatsapp.templates import emulator_templates
from services import people, voting
from services.places import SAMPLE_PLACES, find_aiyl_aimak, import_places, list_villages
from services.roles import Role, grant
from storage.db import Database
from storage.models import utcnow

log = logging.getLogger(__name__)
DEMO_PHONE_KEY = "jamaat-demo-phone-key-not-for-production"
ADMIN = 9001


@dataclass(frozen=True)
class Persona:
    """Somebody the web chat offers to play; ``registered`` ones start registered in Aral."""

    user_id: int
    name: str
    role: str
    phone: str
    registered: bool = False
    grants: tuple[Role, ...] = ()


PERSONAS = (
    Persona(1001, "Айгүл", "villager (new)", "+996700000101"),
    Persona(1002, "Бакыт", "villager (new)", "+996700000102"),
    Persona(2001, "Нурлан", "organiser, Көк-Ирим", "+996700000201", registered=True, grants=(Role.ORGANISER,)),
    Persona(3001, "Гүлнара", "lawyer", "+996700000301", registered=True, grants=(Role.LAWYER,)),
    Persona(ADMIN, "Admin", "administrator", "+996700000901", registered=True, grants=(Role.ADMIN,)),
)


# Villagers on WhatsApp (the web chat at /whatsapp on the WhatsApp emulator). Бакыт's number is the one of the
# Telegram persona: once he has registered on Telegram, writing from WhatsApp is the same person.
WHATSAPP_PERSONAS = (
    ("996700000111", "Асель", "villager on WhatsApp (new)"),
    ("996700000102", "Бакыт", "the Telegram villager Бакыт, on WhatsApp"),
)


def demo_settings(emu: Emulator, database: Path, dashboard_port: int = 0, wa: WhatsAppEmulator | None = None
                  ) -> Settings:
    extra: dict[str, Any] = {}
    if wa is not None:
        extra = {"whatsapp_token": wa.token, "whatsapp_phone_number_id": wa.phone_number_id,
                 "whatsapp_app_secret": wa.app_secret, "whatsapp_verify_token": "demo-verify-token",
                 "whatsapp_api_base_url": wa.base_url, "whatsapp_api_version": wa.version}
    return Settings(
        _env_file=None,
        **extra,
        bot_token=emu.token,
        api_base_url=emu.base_url,
        database_url=f"sqlite+aiosqlite:///{database}",
        phone_hash_key=DEMO_PHONE_KEY,
        admin_ids=[ADMIN],
        default_language="ky",
        helpdesk_askers="registered",  # so that every demo villager can try the legal helpdesk
        dashboard_host="127.0.0.1",
        dashboard_port=dashboard_port,
        dashboard_url=f"http://127.0.0.1:{dashboard_port}",
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def seed(db: Database) -> None:
    """Sample places, and the organiser, lawyer and admin already registered in Aral of Kök-Irim."""
    async with db.session() as session:
        await import_places(session, SAMPLE_PLACES)
        kok_irim = await find_aiyl_aimak(session, "kok-irim")
        assert kok_irim is not None
        aral = (await list_villages(session, kok_irim.id))[0]
        for persona in PERSONAS:
            if not persona.registered:
                continue
            person = await people.first_contact(session, persona.user_id, persona.name)
            person.language = person.language or "ky"
            await people.set_phone(session, person, DEMO_PHONE_KEY, persona.phone)
            if person.village_id is None:
                await people.set_village(session, person, aral.id)
            for role in persona.grants:
                await grant(session, persona.user_id, role, kok_irim.id if role is Role.ORGANISER else None)
        if not await voting.rounds_of(session, [kok_irim.id]):
            await seed_voting_round(session, kok_irim.id)


# Problems named at one needs-assessment session of a municipality (its protocol): Kyrgyz and Russian titles.
SAMPLE_PROBLEMS = (
    ("Ички жолдор", "Внутренние дороги"),
    ("Клубдун чатыры", "Крыша клуба"),
    ("Ичүүчү суу", "Питьевая вода"),
    ("Мектептин абалы", "Состояние школы"),
    ("Сугат суусу", "Поливная вода"),
    ("Бала бакча жок", "Нет детского сада"),
    ("Көчө жарыгы жок", "Нет уличного освещения"),
    ("Жаштарга шарт жок", "Нет условий для молодёжи"),
    ("Интернет жок", "Нет доступа к интернету"),
)


async def seed_voting_round(session: AsyncSession, aiyl_aimak_id: int) -> None:
    """An open priority vote in Kök-Irim, so a newly registered villager can /vote at once."""
    organiser = next(p.user_id for p in PERSONAS if Role.ORGANISER in p.grants)
    rnd = await voting.create_round(session, aiyl_aimak_id=aiyl_aimak_id, title="ЖМБА 2026", created_by=organiser,
                                    vote_ends_at=utcnow() + timedelta(days=14))
    await voting.open_collection(session, rnd, by=organiser)
    for title_ky, title_ru in SAMPLE_PROBLEMS:
        await voting.add_problem(session, rnd, title_ky=title_ky, title_ru=title_ru, by=organiser)
    await voting.publish_ballot(session, rnd, by=organiser)


async def run_demo(*, port: int = 8080, data: Path = Path("demo-data"), fresh: bool = False,
                   ready: asyncio.Future[str] | None = None, stop: asyncio.Event | None = None,
                   whatsapp_ready: asyncio.Future[str] | None = None) -> None:
    """Run until Ctrl+C (or ``stop``); ``ready`` receives the web chat's address once the bot polls, and
    ``whatsapp_ready`` the WhatsApp emulator's (its web chat is at ``/whatsapp``)."""
    data.mkdir(parents=True, exist_ok=True)
    database = data / "jamaat-demo.db"
    if fresh:
        for leftover in data.glob("jamaat-demo.db*"):
            leftover.unlink()
    emu = Emulator()
    await emu.start(host="127.0.0.1", port=port)
    for persona in PERSONAS:
        emu.add_persona(persona.user_id, persona.name, persona.role, phone=persona.phone, language_code="ky")
    # The web dashboard next to the web chat (the port after it), with a ready session for each role holder;
    # the WhatsApp emulator and its web chat on the port after that.
    dashboard_port = port + 1 if port else free_port()
    wa = WhatsAppEmulator()
    WhatsAppWebChat(wa, list(WHATSAPP_PERSONAS)).register_on(wa)
    await wa.start(host="127.0.0.1", port=port + 2 if port else 0)
    app = Jamaat.create(demo_settings(emu, database, dashboard_port, wa))
    dashboard = None
    hook: web.AppRunner | None = None
    try:
        await app.prepare()
        await seed(app.db)
        wa.templates = emulator_templates(app.settings, app.i18n)
        hook = await serve_whatsapp_webhook(app, wa)
        holders = [p for p in PERSONAS if p.grants]
        dashboard = await serve_dashboard(app, "127.0.0.1", dashboard_port,
                                          demo_personas=[p.user_id for p in holders])
        base = f"http://127.0.0.1:{dashboard_port}/dashboard"
        emu.links = [{"text": f"Dashboard: {p.name} ({p.role})", "url": f"{base}/demo/{p.user_id}"} for p in holders]
        task = asyncio.create_task(app.run_polling())
        print(f"Jamaat demo is running offline. Open {emu.base_url}/ in a browser and chat as a villager, "
              f"an organiser or a lawyer; the dashboard: {base}/demo/{holders[0].user_id} (as the organiser); "
              f"{wa.base_url}/whatsapp to chat as a villager on WhatsApp. "
              f"Data: {database}. Stop with Ctrl+C.", flush=True)
        if ready is not None:
            ready.set_result(emu.base_url)
        if whatsapp_ready is not None:
            whatsapp_ready.set_result(wa.base_url)
        try:
            await (stop.wait() if stop is not None else asyncio.Event().wait())
        finally:
            await stop_polling(app, task)
    finally:
        if dashboard is not None:
            await dashboard.cleanup()
        if hook is not None:
            await hook.cleanup()
        await app.close()
        await wa.stop()
        await emu.stop()


async def serve_whatsapp_webhook(app: Jamaat, wa: WhatsAppEmulator) -> web.AppRunner:
    """The bot's WhatsApp webhook on a free local port; the emulator posts there."""
    from bot.webhook import WHATSAPP_PATH, whatsapp_inbound

    inbound = whatsapp_inbound(app)
    assert inbound is not None
    server = web.Application()
    inbound.register(server, WHATSAPP_PATH)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    wa.webhook_url = f"http://127.0.0.1:{runner.addresses[0][1]}{WHATSAPP_PATH}"
    return runner
