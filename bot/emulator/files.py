"""Files and media: storing files (photo sizes included), sendPhoto, sendDocument, sendVoice and getFile."""

from __future__ import annotations

import mimetypes
from typing import Any

from .api import CAPTION_TOO_LONG, MAX_CAPTION, WRONG_FILE, ApiError, _param, _str, bad_request
from .state import StoredFile, Upload, _document, _photo_entry, image_size


class FilesMixin:
    """Part of ``BotApiServer`` (its state is set up there)."""

    def add_file(self, data: bytes, filename: str, kind: str = "photos", mime_type: str | None = None) -> str:
        """A file already on the Bot API server, as if somebody had sent it earlier; returns its file_id."""
        return self._store_file(data, filename, kind, mime_type).file_id

    def _store_file(self, data: bytes, filename: str, kind: str, mime_type: str | None = None) -> StoredFile:
        number = next(self._file_ids)
        stored = StoredFile(
            file_id=f"EMU{kind[:3].upper()}{number:06d}{'x' * 20}",
            file_unique_id=f"U{number:06d}",
            data=data,
            filename=filename,
            mime_type=mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream",
            kind=kind,
        )
        self.files[stored.file_id] = stored
        return stored

    def _photo_sizes(self, data: bytes, filename: str) -> list[dict[str, Any]]:
        width, height = image_size(data) or (800, 600)
        sizes: list[dict[str, Any]] = []
        scale = min(1.0, 90 / max(width, height))
        if scale < 1.0:
            thumb = (round(width * scale) or 1, round(height * scale) or 1)
            sizes.append(self._photo_size(data, filename, *thumb))
        sizes.append(self._photo_size(data, filename, width, height))
        return sizes

    def _photo_size(self, data: bytes, filename: str, width: int, height: int) -> dict[str, Any]:
        stored = self._store_file(data, filename, "photos")
        stored.width, stored.height = width, height
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": width,
            "height": height,
            "file_size": len(data),
        }

    def _input_file(self, params: dict[str, Any], key: str) -> Upload | StoredFile:
        value = _param(params, key)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, Upload):
            return value
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if value is None:
            raise bad_request(f"there is no {key} in the request")
        raise ApiError(400, WRONG_FILE)

    async def _send_media(self, params: dict[str, Any], key: str, method: str) -> dict[str, Any]:
        chat = self._chat(params)
        source = self._input_file(params, key)
        caption, entities, parse_mode = self._formatted(params, "caption", MAX_CAPTION, CAPTION_TOO_LONG)
        markup = self._reply_markup(params)
        content: dict[str, Any] = {}
        if key == "photo":
            if isinstance(source, StoredFile) and source.kind == "photos":
                same = [f for f in self.files.values() if f.data is source.data and f.kind == "photos"]
                content["photo"] = [_photo_entry(f) for f in same]
            else:
                content["photo"] = self._photo_sizes(source.data, source.filename)
        elif key == "voice":
            stored = source if isinstance(source, StoredFile) else self._store_file(
                source.data, source.filename, "voice", "audio/ogg")
            content["voice"] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                                "duration": max(1, len(stored.data) // 2000), "mime_type": "audio/ogg",
                                "file_size": len(stored.data)}
        elif isinstance(source, StoredFile):
            content["document"] = _document(source)
        else:
            mime = None if source.content_type in (None, "application/octet-stream") else source.content_type
            content["document"] = _document(self._store_file(source.data, source.filename, "documents", mime))
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        return self._send(method, chat, params, content, parse_mode, markup)

    async def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._send_media(params, "photo", "sendPhoto")

    async def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._send_media(params, "document", "sendDocument")

    async def _send_voice(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._send_media(params, "voice", "sendVoice")

    async def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.files.get(_str(params, "file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }
