"""SQLAlchemy 2 models. Times are stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both back ends (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Indexes with PostgreSQL-only options, and whether a PostgreSQL engine has been made in this process. Any
# ``postgresql_*`` keyword makes SQLAlchemy import its PostgreSQL dialect (~2 MB), which a bot on SQLite never
# uses; so those options are given to the index only once PostgreSQL is in use (storage.db.make_engine). The
# migrations create the indexes either way; the options keep the models true for Alembic's comparison on
# PostgreSQL (tests/test_storage.py).
_POSTGRESQL_INDEXES: list[tuple[Index, dict[str, Any]]] = []
_postgresql_in_use = False


def postgresql_index(index: Index, **options: Any) -> Index:
    """``index`` with PostgreSQL options (``using="gin"``, ``where=...``), attached when PostgreSQL is in use."""
    _POSTGRESQL_INDEXES.append((index, options))
    if _postgresql_in_use:
        _attach(index, options)
    return index


def _attach(index: Index, options: dict[str, Any]) -> None:
    index._validate_dialect_kwargs({f"postgresql_{name}": value for name, value in options.items()})


def use_postgresql() -> None:
    """Give every PostgreSQL-only index option to its index (now and for model modules imported later)."""
    global _postgresql_in_use
    if not _postgresql_in_use:
        _postgresql_in_use = True
        for index, options in _POSTGRESQL_INDEXES:
            _attach(index, options)


class Region(Base):
    """An oblast (облус), the first level of the country's administrative units."""

    __tablename__ = "region"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_ky: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))


class District(Base):
    """A district (район) of an oblast."""

    __tablename__ = "district"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_ky: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))

    region: Mapped[Region] = relationship(lazy="joined")


class AiylAimak(Base):
    """A rural municipality (айыл аймагы) of one or more villages."""

    __tablename__ = "aiyl_aimak"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_ky: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))
    district: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(200))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id", ondelete="SET NULL"), index=True)
    # Both names normalised for typed search (services.places.search_key), written with the names.
    search_key: Mapped[str] = mapped_column(String(500), default="")

    district_unit: Mapped[District | None] = relationship(lazy="joined")

    villages: Mapped[list[Village]] = relationship(
        back_populates="aiyl_aimak", order_by="Village.name_ky"
    )


class Village(Base):
    """A village (айыл); voting and results are per village."""

    __tablename__ = "village"
    __table_args__ = (UniqueConstraint("aiyl_aimak_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aiyl_aimak_id: Mapped[int] = mapped_column(ForeignKey("aiyl_aimak.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name_ky: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))
    population: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    search_key: Mapped[str] = mapped_column(String(500), default="")
    # The short code of the village's link (Telegram ``?start=v-<code>``); stable once given.
    link_code: Mapped[str | None] = mapped_column(String(16), unique=True)

    aiyl_aimak: Mapped[AiylAimak] = relationship(back_populates="villages")


class Person(Base):
    """Somebody who wrote to the bot. Phone numbers are kept only as a keyed hash."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # NULL once the person asked to be forgotten; the row stays for the tallies, anonymised.
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    first_name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))
    phone_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_tail: Mapped[str | None] = mapped_column(String(4))
    aiyl_aimak_id: Mapped[int | None] = mapped_column(ForeignKey("aiyl_aimak.id", ondelete="SET NULL"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id", ondelete="SET NULL"), index=True)
    sex: Mapped[str | None] = mapped_column(String(1))  # "f" or "m"
    age_band: Mapped[str | None] = mapped_column(String(16))
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    forgotten_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Registered by an organiser or village representative (their Telegram id) for someone without a smartphone.
    registered_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    village: Mapped[Village | None] = relationship(lazy="joined")
    aiyl_aimak: Mapped[AiylAimak | None] = relationship(lazy="joined")

    @property
    def is_registered(self) -> bool:
        return self.registered_at is not None and self.forgotten_at is None


class RoleGrant(Base):
    """A role beyond villager. Keyed by Telegram id so a role can be granted before registration."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("telegram_id", "role", "scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    role: Mapped[str] = mapped_column(String(16))  # organiser | representative | lawyer | admin
    # The aiyl aimak an organiser or village representative works for; 0 for roles without a scope.
    scope: Mapped[int] = mapped_column(Integer, default=0)
    granted_by: Mapped[int | None] = mapped_column(BigInteger)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProcessedUpdate(Base):
    """Update ids already handled: a second delivery of the same update is skipped."""

    __tablename__ = "processed_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class FsmRecord(Base):
    """Conversation state and data, so a restart in the middle of a flow loses nothing."""

    __tablename__ = "fsm_record"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AuditEntry(Base):
    """Who did what: role changes, data deletion and other acts worth answering for."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
