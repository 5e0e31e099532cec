"""Updates to the bot: getUpdates (long polling) and webhooks (the worker that posts them, retries, and the
Bot API call a webhook may answer with)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp

from .api import POLL_CONFLICT, WEBHOOK_CONFLICT, ApiError, _bool, _int, _json, _str, bad_request, clone
from .state import Delivery, Upload

log = logging.getLogger("jamaat.emulator")


class _WebhookFailure(Exception):
    pass


async def _webhook_reply(response: aiohttp.ClientResponse) -> tuple[str, dict[str, Any]] | None:
    """A Bot API call the webhook answered with (JSON or multipart, as aiogram sends it)."""
    if response.content_type == "application/json":
        body = await response.json()
        if isinstance(body, dict) and body.get("method"):
            params = {k: v for k, v in body.items() if k != "method"}
            return str(body["method"]), params
        return None
    if response.content_type != "multipart/form-data":
        return None
    params: dict[str, Any] = {}
    reader = aiohttp.MultipartReader.from_response(response)
    while (part := await reader.next()) is not None:
        assert isinstance(part, aiohttp.BodyPartReader)
        if part.filename:
            params[part.name or ""] = Upload(bytes(await part.read()), part.filename)
        else:
            params[part.name or ""] = await part.text()
    method = params.pop("method", None)
    return (str(method), params) if method else None


class UpdatesMixin:
    """Part of ``BotApiServer`` (its state is set up there)."""

    def webhook_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": sum(1 for d in self.queue if not d.done.is_set()),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        if self.webhook_error:
            info["last_error_date"], info["last_error_message"] = self.webhook_error
        return info

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = _int(params, "offset")
        limit = max(1, min(100, _int(params, "limit", 100) or 100))
        timeout = max(0, _int(params, "timeout", 0) or 0)
        allowed = _json(params, "allowed_updates")
        if allowed is not None:
            self._allowed_updates = list(allowed)
        owner = object()
        self._poller = owner
        self._notify()
        self._confirm(offset)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self._poller is not owner:
                    raise ApiError(409, POLL_CONFLICT)
                batch = self._ready(limit)
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0:
                    return batch
                await self._wait_change(remaining)
        finally:
            if self._poller is owner:
                self._poller = None

    def _confirm(self, offset: int | None) -> None:
        if offset is None:
            return
        pending = [d for d in self.queue if not d.done.is_set()]
        if offset < 0:
            newest = sorted({d.update_id for d in pending})[offset:]
            offset = newest[0] if newest else offset
        for delivery in pending:
            if delivery.update_id < offset and (delivery.delivered or not delivery.duplicate):
                self._finish(delivery)

    def _ready(self, limit: int) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        allowed = self._allowed_updates
        for delivery in self.queue:
            if delivery.done.is_set() or len(batch) >= limit:
                continue
            if allowed and delivery.kind not in allowed:
                self._finish(delivery)
                continue
            delivery.delivered = True
            batch.append(clone(delivery.update))
        return batch

    def _finish(self, delivery: Delivery) -> None:
        delivery.done.set()
        self.queue = [d for d in self.queue if d is not delivery]
        self._notify()

    def _drop_pending(self) -> None:
        for delivery in list(self.queue):
            self._finish(delivery)

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = _str(params, "url")
        if not url:
            return await self._delete_webhook(params)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if _bool(params, "drop_pending_updates"):
            self._drop_pending()
        self.webhook = {
            "url": url,
            "secret_token": _str(params, "secret_token"),
            "max_connections": _int(params, "max_connections", 40) or 40,
            "allowed_updates": _json(params, "allowed_updates"),
        }
        self.webhook_error = None
        self._poller = None
        self._notify()
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._webhook_worker())
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        self.webhook_error = None
        self._stop_webhook_worker()
        for delivery in self.queue:
            delivery.retry_at = 0.0
        if _bool(params, "drop_pending_updates"):
            self._drop_pending()
        return True

    def _stop_webhook_worker(self) -> None:
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.webhook_info()

    async def _webhook_worker(self) -> None:
        while self.webhook is not None:
            hook = self.webhook
            allowed = hook.get("allowed_updates")
            now = time.monotonic()
            next_retry = 1.0
            for delivery in list(self.queue):
                if delivery.done.is_set() or delivery.in_flight:
                    continue
                if allowed and delivery.kind not in allowed:
                    self._finish(delivery)
                elif len(self._webhook_posts) >= hook["max_connections"]:
                    break
                elif delivery.retry_at <= now:
                    delivery.in_flight = True
                    task = asyncio.create_task(self._post_update(hook, delivery))
                    self._webhook_posts.add(task)
                    task.add_done_callback(self._post_done)
                else:
                    next_retry = min(next_retry, delivery.retry_at - now)
            await self._wait_change(next_retry)

    def _post_done(self, task: asyncio.Task[None]) -> None:
        self._webhook_posts.discard(task)
        self._notify()

    async def _post_update(self, hook: dict[str, Any], delivery: Delivery) -> None:
        headers = {}
        if hook["secret_token"]:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        assert self._client is not None
        try:
            async with self._client.post(hook["url"], json=delivery.update, headers=headers) as response:
                if response.status >= 300:
                    status = f"{response.status} {response.reason}"
                    raise _WebhookFailure(f"Wrong response from the webhook: {status}")
                reply = await _webhook_reply(response)
            if reply is not None:
                method, params = reply
                status, body = await self.call(method, params)
                if status != 200:
                    log.warning("Webhook reply %s failed: %s", method, body.get("description"))
            delivery.in_flight = False
            self._finish(delivery)
        except (aiohttp.ClientError, _WebhookFailure, TimeoutError) as error:
            message = str(error) if isinstance(error, _WebhookFailure) else f"Connection failed: {error}"
            log.warning("Webhook delivery of update %s failed: %s", delivery.update_id, message)
            delivery.error = message
            delivery.retry_at = time.monotonic() + 1.0
            delivery.in_flight = False
            self.webhook_error = (int(time.time()), message)
            self._notify()
