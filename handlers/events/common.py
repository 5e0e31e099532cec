"""What the event flow's routers share: the organiser's event lookup, the event's villages, the protocol.

``event_protocol_docx`` lives in ``views`` (the outcome's background job attaches it too)."""

from __future__ import annotations

import logging

from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from bot.text import escape
from handlers.events import views
from handlers.events.views import event_protocol_docx, refusal
from services import events
from services.events import EventError
from services.roles import Roles
from storage.events import Event
from storage.models import AiylAimak, Village

log = logging.getLogger("jamaat.events")


async def organiser_event(query: CallbackQuery, session: AsyncSession, roles: Roles, event_id: int) -> Event | None:
    try:
        return await events.event_for_organiser(session, event_id, roles)
    except EventError as error:
        log.warning("user %s tried event %s: %s", query.from_user.id, event_id, error.code)
        await query.answer(refusal(error), show_alert=True)
        return None


async def event_villages(session: AsyncSession, event: Event) -> list[Village]:
    query = select(Village).where(Village.id.in_(event.village_ids)).order_by(Village.name_ky)
    return list((await session.scalars(query)).all())


async def send_protocol(message: Message, session: AsyncSession, event: Event, settings: Settings, i18n: I18n) -> None:
    language = i18n.current_locale
    villages = await event_villages(session, event)
    aimak = await session.get(AiylAimak, event.aiyl_aimak_id)
    docx = event_protocol_docx(event, villages, aimak, language, settings, i18n)
    from services.protocol import protocol_csv  # loaded on first use, not at start-up

    table = protocol_csv(event, kind_label=views.kind_label(event.kind), rule_label=views.rule_text(
        event.decision_rule), language=language, zone=settings.zone, _=_)
    await message.answer_document(BufferedInputFile(docx, f"protocol-{event.id}.docx"),
                                  caption=_("Protocol of “{topic}”: print it for the chair and the secretary to "
                                            "sign.").format(topic=escape(event.topic[:200])))
    await message.answer_document(BufferedInputFile(table, f"protocol-{event.id}.csv"),
                                  caption=_("The decisions and figures as a table (CSV)."))
