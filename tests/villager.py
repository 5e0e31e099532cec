"""One villager, on either channel: the core villager flows are one test body run for Telegram and WhatsApp.

``Villager`` is what a test does as a villager (``send``, ``tap``, ``share_phone``, ``last_text``); it is
implemented over the Telegram emulator's user and the WhatsApp emulator's phone. The only channel difference a
flow shows is the phone step: Telegram asks for the contact, WhatsApp tells the bot the number itself."""

from __future__ import annotations

import time
from typing import Any, Protocol

from sqlalchemy import select

from bot.emulator.driver import TestUser
from bot.emulator.whatsapp import WaPhone
from storage.channels import ChannelIdentity
from tests.harness import PATIENCE, Harness

CHANNELS = ("telegram", "whatsapp")


class Villager(Protocol):
    channel: str

    async def open(self) -> None:
        """The first message to the bot (``/start`` on Telegram, any greeting on WhatsApp)."""

    async def send(self, text: str) -> None: ...

    async def tap(self, label: str | None = None, *, contains: str | None = None) -> None:
        """Press a button (or pick a list row, or type a numbered menu line's number) by its label."""

    async def share_phone(self) -> None:
        """The phone step of registration (nothing to do on WhatsApp, which tells the number)."""

    async def chat_id(self) -> int:
        """The chat id the bot knows this villager by."""

    async def settled(self) -> None:
        """Wait until what the bot sent in the background (relays, the outbox) has arrived."""

    @property
    def options(self) -> list[str]:
        """The labels the newest message with choices offers."""

    @property
    def last_text(self) -> str: ...

    @property
    def texts(self) -> list[str]: ...

    def dump(self) -> str: ...


class TelegramVillager:
    channel = "telegram"

    def __init__(self, user: TestUser) -> None:
        self.user = user

    async def open(self) -> None:
        await self.user.send("/start")

    async def send(self, text: str) -> None:
        await self.user.send(text)

    async def tap(self, label: str | None = None, *, contains: str | None = None) -> None:
        await self.user.tap(label, contains=contains)

    async def share_phone(self) -> None:
        await self.user.share_contact()

    async def chat_id(self) -> int:
        return self.user.id

    async def settled(self) -> None:
        return None  # the Bot API emulator has it as soon as the bot's call returned

    @property
    def options(self) -> list[str]:
        target = self.user._keyboard_message(None)
        return [button for row in (target.buttons if target is not None else []) for button in row]

    @property
    def last_text(self) -> str:
        return self.user.last.text or self.user.last.caption or ""

    @property
    def texts(self) -> list[str]:
        return [t or "" for t in self.user.texts]

    def dump(self) -> str:
        return self.user.dump()


class WhatsAppVillager:
    channel = "whatsapp"

    def __init__(self, bot: Harness, phone: WaPhone) -> None:
        self.bot, self.phone = bot, phone

    async def open(self) -> None:
        await self.phone.send("salam")

    async def send(self, text: str) -> None:
        await self.phone.send(text)

    async def tap(self, label: str | None = None, *, contains: str | None = None) -> None:
        await self.phone.tap(label, contains=contains)

    async def share_phone(self) -> None:
        return None  # the sender's wa_id is the number

    async def chat_id(self) -> int:
        async with self.bot.db.session() as session:
            return int(await session.scalar(
                select(ChannelIdentity.chat_id).where(ChannelIdentity.wa_id == self.phone.wa_id)))

    async def settled(self) -> None:
        assert self.bot.wa is not None
        await self.bot.wa.settle()

    @property
    def options(self) -> list[str]:
        message = self.phone._with_choices()
        if message is None:
            return []
        return [*message.buttons, *(row["title"] for row in message.rows), *message.menu.values()]

    @property
    def last_text(self) -> str:
        return self.phone.last.text or ""

    @property
    def texts(self) -> list[str]:
        return [t or "" for t in self.phone.texts]

    def dump(self) -> str:
        return self.phone.dump()


def villager(bot: Harness, channel: str, number: int, name: str = "Aigul", **fields: Any) -> Villager:
    """Villager ``number`` on ``channel``; phone +996 700 NNNNNN either way."""
    phone = f"996700{number:06d}"
    if channel == "telegram":
        return TelegramVillager(bot.user(1_700_000 + number, name, phone="+" + phone, **fields))
    return WhatsAppVillager(bot, bot.wa_user(phone, name, **fields))


async def register(person: Villager, *, language: str = "English", aimak: str = "Көк-Ирим",
                   village: str = "Арал") -> None:
    """Registration without the optional sex and age group."""
    await person.open()
    await person.tap(language)
    await person.share_phone()
    await person.tap(aimak)
    await person.tap(village)
    await person.tap(contains="Skip")
    assert f"you are registered in {village}" in person.last_text, person.dump()


async def whatsapp_webhook_answers(wa: Any, url: str, wa_id: str) -> None:
    """A running ``jamaat`` process serves WhatsApp's webhook at ``url``: the verification handshake answers the
    challenge, and a villager's first message gets the language question."""
    import aiohttp

    wa.webhook_url = url
    async with aiohttp.ClientSession() as http:
        query = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "42"}
        async with http.get(url, params=query) as response:
            assert await response.text() == "42"
    villager = wa.user(wa_id, "Aibek")
    await villager.send("salam")  # answered at once (200), handled in the background
    deadline = time.monotonic() + PATIENCE
    while not villager.messages and time.monotonic() < deadline:
        await wa.wait_change(0.1)
    assert villager.last.text == "Тилди тандаңыз:"
