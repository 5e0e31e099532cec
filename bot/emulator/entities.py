"""HTML parse mode: text and its entities as Telegram makes them, lengths in UTF-16 code units."""

from __future__ import annotations

import re
from typing import Any

from .api import bad_request

_ALLOWED_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
_ATTR_RE = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_CHAR_REF_RE = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_NAMED_REFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_PLAIN_RE = re.compile(r"[^<&]+")  # a run of text with no tag and no character reference


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of an HTML-formatted message, with Telegram's parse errors."""
    out: list[str] = []
    length = 0
    stack: list[tuple[str, int, dict[str, Any]]] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "<":
            match = _TAG_RE.match(source, i)
            if match is None:
                where = _byte_offset(source, i)
                if ">" not in source[i:]:
                    raise bad_request(f"can't parse entities: Unclosed start tag at byte offset {where}")
                raise bad_request(f'can\'t parse entities: Unsupported start tag "" at byte offset {where}')
            closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
            if closing:
                if not stack or stack[-1][0] != name:
                    where = _byte_offset(source, i)
                    raise bad_request(f"can't parse entities: Unexpected end tag at byte offset {where}")
                _, start, entity = stack.pop()
                if entity and length > start:
                    entities.append({**entity, "offset": start, "length": length - start})
            else:
                stack.append((name, length, _open_tag(source, i, name, attrs, stack)))
            i = match.end()
        elif char == "&":
            ref = _CHAR_REF_RE.match(source, i)
            if ref is None:
                where = _byte_offset(source, i)
                raise bad_request(
                    f"can't parse entities: Can't find end of the entity starting at byte offset {where}"
                )
            name = ref.group(1)
            decoded = _NAMED_REFS.get(name) or chr(
                int(name[2:], 16) if name[1:2] in "xX" else int(name[1:])
            )
            out.append(decoded)
            length += utf16_len(decoded)
            i = ref.end()
        else:
            run = _PLAIN_RE.match(source, i).group()  # type: ignore[union-attr]  # char is neither < nor &
            out.append(run)
            length += utf16_len(run)
            i += len(run)
    if stack:
        raise bad_request(
            f'can\'t parse entities: Can\'t find end tag corresponding to start tag "{stack[-1][0]}"'
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _open_tag(
    source: str, index: int, name: str, attrs: str, stack: list[tuple[str, int, dict[str, Any]]]
) -> dict[str, Any]:
    """The entity a start tag opens ({} when it opens none)."""
    if name not in _ALLOWED_TAGS:
        where = _byte_offset(source, index)
        raise bad_request(f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {where}')
    values = {
        m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None) for m in _ATTR_RE.finditer(attrs)
    }
    kind = _ALLOWED_TAGS[name]
    if name == "span" and values.get("class") != "tg-spoiler":
        raise bad_request('can\'t parse entities: Tag "span" must have class "tg-spoiler"')
    if name == "a":
        return {"type": "text_link", "url": values["href"]} if "href" in values else {}
    if name == "tg-emoji":
        return {"type": kind, "custom_emoji_id": values.get("emoji-id", "")}
    if name == "blockquote" and "expandable" in attrs:
        return {"type": "expandable_blockquote"}
    if name == "code" and stack and stack[-1][0] == "pre":
        language = values.get("class", "")
        if language.startswith("language-"):
            stack[-1][2]["language"] = language.removeprefix("language-")
            return {}
    return {"type": kind}
