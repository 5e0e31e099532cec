"""A thin WhatsApp Cloud API (Graph API) client: messages, media upload and download, pacing and retries."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from services.outbox import count_throttle

log = logging.getLogger(__name__)

THROTTLED = frozenset({130429, 131056, 80007, 4})  # throughput, pair rate, account rate, app rate
WINDOW_CLOSED = 131047
UNREACHABLE = frozenset({131026})  # the number cannot receive WhatsApp messages


class WhatsAppError(Exception):
    """An error answer of the Graph API (``code`` is Meta's error code, ``status`` the HTTP status)."""

    def __init__(self, code: int, message: str, status: int, details: str = "") -> None:
        super().__init__(f"{code}: {message}" + (f" ({details})" if details else ""))
        self.code, self.message, self.status, self.details = code, message, status, details

    @property
    def throttled(self) -> bool:
        return self.code in THROTTLED or self.status == 429

    @property
    def window_closed(self) -> bool:
        return self.code == WINDOW_CLOSED

    @property
    def unreachable(self) -> bool:
        return self.code in UNREACHABLE


@dataclass
class ClientStats:
    sent: int = 0
    throttled: int = 0  # throttling answers (each retried with backoff)
    gave_up: int = 0  # still throttled after every retry
    errors: dict[int, int] = field(default_factory=dict)


class _Pacer:
    """At most ``rate`` calls a second from this process (the business number's throughput)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.next_slot = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self.lock:
            now = time.monotonic()
            slot = max(self.next_slot, now)
            self.next_slot = slot + 1.0 / self.rate
        if slot > now:
            await asyncio.sleep(slot - now)


class CloudApi:
    """Calls of one business number. ``send`` paces, and retries throttling answers with backoff."""

    def __init__(self, *, token: str, phone_number_id: str, base_url: str = "https://graph.facebook.com",
                 version: str = "v23.0", per_second: float = 80.0, max_retries: int = 4,
                 retry_seconds: float = 1.0) -> None:
        self.token = token
        self.phone_number_id = phone_number_id
        self.base = base_url.rstrip("/") + "/" + version
        self.pacer = _Pacer(per_second)
        self.max_retries = max_retries
        self.retry_seconds = retry_seconds
        self.stats = ClientStats()
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {self.token}"},
                                                  timeout=aiohttp.ClientTimeout(total=60))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _answer(self, response: aiohttp.ClientResponse) -> dict[str, Any]:
        try:
            body = await response.json(content_type=None)
        except ValueError:
            body = {}
        if response.status >= 400 or "error" in body:
            error = body.get("error") or {}
            details = (error.get("error_data") or {}).get("details", "") if isinstance(
                error.get("error_data"), dict) else str(error.get("error_data") or "")
            code = int(error.get("code") or response.status)
            self.stats.errors[code] = self.stats.errors.get(code, 0) + 1
            raise WhatsAppError(code, str(error.get("message") or response.reason), response.status, details)
        return body

    async def send(self, to: str, message: dict[str, Any], *, bsuid: bool = False) -> str:
        """Send one message (``{"type": ..., type: {...}}``) to a number or a business-scoped user id; returns
        WhatsApp's message id."""
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual",
                   ("recipient" if bsuid else "to"): to, **message}
        attempt = 0
        while True:
            await self.pacer.wait()
            try:
                async with self.session.post(f"{self.base}/{self.phone_number_id}/messages", json=payload) as r:
                    body = await self._answer(r)
                self.stats.sent += 1
                return str(body["messages"][0]["id"])
            except WhatsAppError as exc:
                if not exc.throttled:
                    raise
                self.stats.throttled += 1
                count_throttle()  # for the broadcast report of the message being sent
                if attempt >= self.max_retries:
                    self.stats.gave_up += 1
                    raise
                delay = self.retry_seconds * 2 ** attempt
                log.info("WhatsApp throttled (%s): retry in %.1f s", exc.code, delay)
                attempt += 1
                await asyncio.sleep(delay)

    async def upload(self, data: bytes, mime_type: str, filename: str) -> str:
        """Upload a file for sending; returns its media id."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime_type)
        form.add_field("file", data, filename=filename, content_type=mime_type)
        async with self.session.post(f"{self.base}/{self.phone_number_id}/media", data=form) as response:
            body = await self._answer(response)
        return str(body["id"])

    async def download(self, media_id: str) -> tuple[bytes, str]:
        """The bytes and MIME type of a media id (a photo, a document or a voice note someone sent)."""
        async with self.session.get(f"{self.base}/{media_id}") as response:
            info = await self._answer(response)
        async with self.session.get(info["url"]) as response:
            if response.status >= 400:
                raise WhatsAppError(response.status, "media download failed", response.status)
            return await response.read(), str(info.get("mime_type") or "application/octet-stream")
