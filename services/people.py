"""Registration, profiles and the right to be forgotten."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, bindparam, case, func, insert, inspect, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from services import channels
from services.audit import RuleError, audit
from services.phone import phone_hash, phone_tail
from services.roles import Roles, roles_from
from storage import conversation, direct
from storage.channels import ChannelIdentity
from storage.direct import Direct, Entity
from storage.erasure import erase_person
from storage.models import AiylAimak, FsmRecord, Person, RoleGrant, Village, utcnow

SEXES = ("f", "m")


class RegistrationError(RuleError):
    """A step of registration that cannot be taken; ``code`` names it for the message shown."""


async def person_by_telegram_id(session: AsyncSession, telegram_id: int) -> Person | None:
    """The person behind a chat id: a Telegram id, or a WhatsApp chat's synthetic id (``services.channels``),
    which may be linked by phone number to a person registered on Telegram."""
    if channels.is_whatsapp_chat(telegram_id):
        linked = await channels.linked_person(session, telegram_id)
        if linked is not None:
            return linked
    person = await session.scalar(select(Person).where(Person.telegram_id == telegram_id))
    if person is None and not channels.is_whatsapp_chat(telegram_id):  # a Telegram account linked to a person
        person = await channels.linked_person(session, telegram_id)  # registered on WhatsApp first
    return person


_PERSON, _VILLAGE, _AIMAK = Entity(Person), Entity(Village), Entity(AiylAimak)


def _person_with_roles_query(with_fsm: bool) -> Any:
    """Plain columns, not ORM entities: the statement runs straight on the driver (``storage.direct``) and
    ``_person_of`` makes the person and their village ORM objects of the session."""
    telegram_id = bindparam("telegram_id", type_=BigInteger)
    one = select(literal(1).label("one")).subquery()
    person, village = Person.__table__, Village.__table__
    # Whether the person is linked to another channel: only then does ``channels.seen_on_telegram`` need a look.
    linked = select(ChannelIdentity.id).where(ChannelIdentity.person_id == person.c.id).exists()
    # The person this chat was linked to by phone number, if any (``channels.linked_person`` then reads them).
    linked_to = (select(ChannelIdentity.person_id).where(ChannelIdentity.chat_id == telegram_id)
                 .limit(1).scalar_subquery())
    # With the person's village (a ballot names it), not their aiyl aimak with its district and region: joined to
    # every update's read, those cost ~10 % of it, and only a few answers name them (``places_of``).
    query = (select(*_PERSON.columns, *_VILLAGE.columns, RoleGrant.role, RoleGrant.scope,
                    linked.label("linked"), linked_to.label("linked_to")).select_from(one)
             .outerjoin(person, person.c.telegram_id == telegram_id)
             .outerjoin(village, village.c.id == person.c.village_id))
    if with_fsm:
        query = (query.add_columns(FsmRecord.key, FsmRecord.state, FsmRecord.data)
                 .outerjoin(FsmRecord, FsmRecord.key == bindparam("fsm_key")))
    return query.outerjoin(RoleGrant, RoleGrant.telegram_id == telegram_id)


# Built once: every update runs one of them.
_PERSON_WITH_ROLES = {False: _person_with_roles_query(False), True: _person_with_roles_query(True)}
# The same, with a caller's statement run in it (``along``), kept with that statement (so an id is never reused).
_WITH_STATEMENT: dict[tuple[bool, int], tuple[Any, Direct]] = {}
_DIRECT = {with_fsm: Direct(query) for with_fsm, query in _PERSON_WITH_ROLES.items()}


def _query(with_fsm: bool, along: Any | None) -> Direct:
    if along is None:
        return _DIRECT[with_fsm]
    key = (with_fsm, id(along))
    kept = _WITH_STATEMENT.get(key)
    if kept is None or kept[0] is not along:
        ran = select(func.count()).select_from(along).scalar_subquery().label("along")
        kept = _WITH_STATEMENT[key] = (along, Direct(_PERSON_WITH_ROLES[with_fsm].add_columns(ran)))
    return kept[1]


def _person_of(session: AsyncSession, row: Any) -> Person | None:
    """The person of ``person_with_roles``'s first row, with their village, as objects of the session."""
    if row[0] is None:
        return None
    start = len(_PERSON)
    village = _VILLAGE.attach(session, row, start) if row[start] is not None else None
    return _PERSON.attach(session, row, village=village)


@dataclass(frozen=True)
class Visitor:
    """Who an update comes from: the person (None before first contact), their roles, and whether they are
    linked to another channel (a Telegram identity row or a WhatsApp chat)."""

    person: Person | None
    roles: Roles
    linked: bool
    along: int = 0  # rows returned by the statement run along (``person_with_roles(along=...)``)


async def person_with_roles(session: AsyncSession, telegram_id: int, settings_admins: frozenset[int] = frozenset(),
                            *, fsm_key: str | None = None, along: Any | None = None,
                            along_params: dict[str, Any] | None = None) -> Visitor:
    """The person, their roles, whether they are linked to another channel and, given ``fsm_key``, their
    conversation state, in one statement: what every update needs first. The state is left with the session
    for ``storage.fsm`` (``storage.conversation``). ``along``: a CTE of the caller's (PostgreSQL's data-modifying
    ``WITH``, e.g. the update's claim) run in the same statement, built once (the query is kept per ``along``);
    ``Visitor.along`` counts its rows."""
    params: dict[str, Any] = {"telegram_id": telegram_id, **(along_params or {})}
    if fsm_key is not None:
        params["fsm_key"] = fsm_key
    rows = await direct.rows(session, _query(fsm_key is not None, along), params)
    person = _person_of(session, rows[0]) if rows else None
    roles_at = len(_PERSON) + len(_VILLAGE)  # role, scope, linked, linked_to, then the state's key, state, data
    linked = bool(rows[0][roles_at + 2]) if person is not None else False
    linked_to = rows[0][roles_at + 3] is not None  # this chat is linked to a person: read them
    if linked_to and channels.is_whatsapp_chat(telegram_id):  # a WhatsApp chat linked by phone to a Telegram person
        found = await channels.linked_person(session, telegram_id)
        person, linked = (found, True) if found is not None else (person, linked)
    elif linked_to and person is None:  # a Telegram account linked to a person registered on WhatsApp first
        person = await channels.linked_person(session, telegram_id)
        linked = person is not None
    grants = [(row[roles_at], row[roles_at + 1]) for row in rows if row[roles_at] is not None]
    if fsm_key is not None and rows:
        key, state, data = rows[0][roles_at + 4:roles_at + 7]
        conversation.remember(session, fsm_key, (state, dict(data or {})) if key is not None else None)
    ran = int(rows[0][-1] or 0) if along is not None else 0
    return Visitor(person, roles_from(telegram_id, grants, settings_admins), linked, ran)


@dataclass(frozen=True)
class Places:
    aiyl_aimak: AiylAimak | None
    village: Village | None


async def places_of(session: AsyncSession, person: Person) -> Places:
    """The person's aiyl aimak and village, for an answer that names them: the aiyl aimak is not read with the
    person on every update (``person_with_roles``). From the session when it holds them already."""
    village = None
    if person.village_id is not None:  # with its aiyl aimak, in one statement
        village = await session.get(Village, person.village_id, options=[joinedload(Village.aiyl_aimak)])
        if (village is not None and village.aiyl_aimak_id == person.aiyl_aimak_id
                and "aiyl_aimak" not in inspect(village).unloaded):  # in the session already, without its aimak
            return Places(village.aiyl_aimak, village)
    aimak = await session.get(AiylAimak, person.aiyl_aimak_id) if person.aiyl_aimak_id is not None else None
    return Places(aimak, village)


async def village_of(session: AsyncSession, person: Person) -> Village | None:
    """The person's village without its aiyl aimak, for an answer that names only the village: from the session
    when it holds it (the registration's ``set_village`` does), else read straight on the driver."""
    if person.village_id is None:
        return None
    return await direct.get(session, Village, person.village_id, refresh=False)


async def person_by_phone(session: AsyncSession, key: str, raw_phone: str) -> Person | None:
    return await session.scalar(select(Person).where(Person.phone_hash == phone_hash(key, raw_phone)))


# The new person's row, straight on the driver (``storage.direct``): the ORM's unit of work cost more than the
# INSERT, at every newcomer's first message.
_NEW_PERSON = Direct(insert(Person.__table__).values(**direct.binds("telegram_id", "first_name", "created_at"))
                     .returning(*_PERSON.columns))


async def first_contact(session: AsyncSession, telegram_id: int, first_name: str | None,
                        looked_up: bool = False) -> Person:
    """The person behind a Telegram account, created on first contact. ``looked_up``: this transaction found no
    person for the account already (``person_with_roles``), so it need not look again."""
    person = None if looked_up else await person_by_telegram_id(session, telegram_id)
    if person is None:
        # Telegram's name as given, without what a text column cannot hold
        name = first_name.replace("\x00", "")[:200] if first_name else None
        row = (await direct.rows(session, _NEW_PERSON, {"telegram_id": telegram_id, "first_name": name,
                                                        "created_at": utcnow()}))[0]
        person = _PERSON.attach(session, row, village=None, aiyl_aimak=None)
    return person


async def set_language(session: AsyncSession, person: Person, language: str) -> None:
    await direct.update(session, person, language=language)  # written at once (``storage.direct.update``)


# Who holds a number, straight on the driver (``storage.direct``): every registration asks, and the ORM's read of
# the person joined their village, aiyl aimak, district and oblast. The owner's object is read only to join them.
_PHONE_OWNER = Direct(select(Person.__table__.c.id, Person.__table__.c.telegram_id, Person.__table__.c.forgotten_at,
                             Person.__table__.c.registered_by)
                      .where(Person.__table__.c.phone_hash == bindparam("phone_hash")))


async def set_phone(session: AsyncSession, person: Person, key: str, raw_phone: str) -> Person:
    """Keep the verified number as a keyed hash; one number belongs to one person.

    Returns the person from now on: ``person`` itself, or — when an organiser had registered this number for
    someone without a smartphone — that person's row, which the account joins (their ballots stay theirs:
    one person, one vote)."""
    hashed = phone_hash(key, raw_phone)
    found = await direct.rows(session, _PHONE_OWNER, {"phone_hash": hashed}, autoflush=True)
    if found and found[0][0] != person.id:
        owner_id, telegram_id, forgotten_at, registered_by = found[0]
        if telegram_id is None and forgotten_at is None and registered_by is not None:
            assisted = await session.get(Person, owner_id)
            assert assisted is not None
            return await _join_assisted(session, person, assisted)
        raise RegistrationError("phone_taken")
    await direct.update(session, person, phone_hash=hashed, phone_tail=phone_tail(raw_phone))
    return person


async def _join_assisted(session: AsyncSession, newcomer: Person, assisted: Person) -> Person:
    """The account that just proved the phone takes over the assisted person's row; the newcomer's own row
    (not yet registered, so without ballots or answers) goes."""
    telegram_id = newcomer.telegram_id
    assisted.first_name = newcomer.first_name or assisted.first_name
    assisted.language = newcomer.language or assisted.language
    newcomer.telegram_id = None
    await session.flush()
    await session.delete(newcomer)
    await session.flush()
    assisted.telegram_id = telegram_id
    audit(session, telegram_id, "person.join_assisted", "person", assisted.id, registered_by=assisted.registered_by)
    await session.flush()
    return assisted


# The village with its aiyl aimak, straight on the driver (``storage.direct``): the ORM's read joined the aiyl
# aimak's district and oblast as well, which no answer of the registration names.
_VILLAGE_WITH_AIMAK = Direct(
    select(*_VILLAGE.columns, *_AIMAK.columns)
    .join_from(Village.__table__, AiylAimak.__table__, AiylAimak.__table__.c.id == Village.__table__.c.aiyl_aimak_id)
    .where(Village.__table__.c.id == bindparam("village_id")))


async def set_village(session: AsyncSession, person: Person, village_id: int,
                      aiyl_aimak_id: int | None = None) -> Village:
    """Place the person in a village (of ``aiyl_aimak_id``, when the person chose that first);
    completes registration once the phone is verified. Nothing changes when it is refused."""
    # With its aiyl aimak (also when the village is in the session already), so the person's places are set as
    # objects, not read back after the change.
    found = await direct.rows(session, _VILLAGE_WITH_AIMAK, {"village_id": village_id})
    if not found or (aiyl_aimak_id is not None and _VILLAGE.values(found[0])["aiyl_aimak_id"] != aiyl_aimak_id):
        raise RegistrationError("unknown_village")
    if person.phone_hash is None:
        raise RegistrationError("phone_first")
    aimak = _AIMAK.attach(session, found[0], len(_VILLAGE))
    village = _VILLAGE.attach(session, found[0])
    if "aiyl_aimak" in inspect(village).unloaded:
        set_committed_value(village, "aiyl_aimak", aimak)
    # The columns written at once (``storage.direct.update``), the relationships they stand for set as loaded.
    await direct.update(session, person, village_id=village.id, aiyl_aimak_id=village.aiyl_aimak_id,
                        registered_at=person.registered_at or utcnow())
    set_committed_value(person, "village", village)
    set_committed_value(person, "aiyl_aimak", village.aiyl_aimak)
    return village


async def give_consent(session: AsyncSession, person: Person, now: datetime | None = None) -> None:
    await direct.update(session, person, consent_at=now or utcnow())  # written at once (``storage.direct.update``)


async def set_sex(session: AsyncSession, person: Person, sex: str | None) -> None:
    if sex is not None and sex not in SEXES:
        raise RegistrationError("unknown_sex")
    await direct.update(session, person, sex=sex)  # written at once (``storage.direct.update``)


async def set_age_band(session: AsyncSession, person: Person, band: str | None, bands: list[str]) -> None:
    if band is not None and band not in bands:
        raise RegistrationError("unknown_age_band")
    await direct.update(session, person, age_band=band)


async def withdraw_consent(session: AsyncSession, person: Person) -> None:
    """Without consent, sex and age group are not kept (written at once; nothing when none was kept)."""
    kept = {name: None for name in ("consent_at", "sex", "age_band") if getattr(person, name) is not None}
    if kept:
        await direct.update(session, person, **kept)


def mark_reachable(person: Person) -> None:
    """A person who writes again can be reached again."""
    person.unreachable_at = None


def mark_unreachable(person: Person) -> None:
    if person.unreachable_at is None:
        person.unreachable_at = utcnow()


async def forget(session: AsyncSession, person: Person) -> None:
    """Delete what identifies the person. Village, sex and age group stay on the anonymous row, so votes
    already cast are still counted by group; nothing links the row to a phone or a Telegram account. Texts they
    wrote (helpdesk questions and replies, named problems, questions to events, monitoring comments) are
    replaced by a marker, and their Telegram id is removed from every table (roles, helpdesk membership, audit,
    messages to them); the rows themselves stay, so counts for statistics do not change."""
    telegram_id = person.telegram_id
    await session.flush()
    await channels.forget(session, person.id, telegram_id)
    await erase_person(session, person.id, telegram_id)
    person.telegram_id = None
    person.first_name = None
    person.phone_hash = None
    person.phone_tail = None
    person.language = None
    person.forgotten_at = utcnow()
    audit(session, None, "person.forget", "person", person.id)
    await session.flush()


@dataclass(frozen=True)
class VillageCount:
    village_id: int
    registered: int
    women: int


async def registrations_by_village(session: AsyncSession, aiyl_aimak_id: int) -> list[VillageCount]:
    """Registered villagers per village of one aiyl aimak, women counted separately."""
    women = func.sum(case((Person.sex == "f", 1), else_=0))
    query = (
        select(Village.id, func.count(Person.id), women)
        .select_from(Village)
        .outerjoin(Person, (Person.village_id == Village.id) & Person.registered_at.is_not(None)
                   & Person.forgotten_at.is_(None))
        .where(Village.aiyl_aimak_id == aiyl_aimak_id)
        .group_by(Village.id)
        .order_by(Village.name_ky)
    )
    return [VillageCount(v, int(n), int(w or 0)) for v, n, w in (await session.execute(query)).all()]

