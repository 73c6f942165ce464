"""Model input as plain items (`{"role": ..., "content": ...}`), and fitting a conversation into a budget.

Pure functions, shared by rebuilds from Slack history and by local memory's transcript.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

InputItem = dict[str, Any]
Part = dict[str, Any]  # one content part: input_text, input_image, input_file

_OMITTED_NOTE_ROOM = 64


def with_files(item: InputItem, parts: Sequence[Part]) -> InputItem:
    """A user turn followed by the parts its files became (images, PDFs, text, or notes)."""
    if not parts:
        return item
    return {**item, "content": [*_parts(item["content"]), *parts]}


def content_chars(item: InputItem) -> int:
    """The characters of text an item sends; images and PDFs are counted by number elsewhere."""
    content = item["content"]
    if isinstance(content, str):
        return len(content)
    return sum(len(p.get("text", "")) for p in content if p.get("type") in ("input_text", "output_text"))


def fit_budget(items: list[InputItem], budget_chars: int) -> list[InputItem]:
    """Keep the first item and as many of the newest as fit; say how many were left out.

    Sizes count the separator each item may get when `alternate_roles` joins it to its neighbour.
    """
    budget_chars = max(budget_chars, 0)
    total = sum(_size(i) for i in items)
    if total <= budget_chars or not items:
        return items
    first, rest = items[0], items[1:]
    if _size(first) > budget_chars // 2 and "content" in first:
        first = _cut(first, max(0, budget_chars // 2 - len(_JOIN) - 4))
    room = budget_chars - _size(first) - _OMITTED_NOTE_ROOM
    newest: list[InputItem] = []
    for item in reversed(rest):
        if _size(item) > room:
            break
        newest.append(item)
        room -= _size(item)
    omitted = len(rest) - len(newest)
    if not omitted:
        return [first, *reversed(newest)]
    note = {"role": "user", "content": f"[{omitted} earlier messages of this conversation are not shown]"}
    return [first, note, *reversed(newest)]


def alternate_roles(items: list[InputItem]) -> list[InputItem]:
    """Consecutive turns of one role as one turn: what the model expects, and far fewer items to send.

    Each person's message keeps its "Name (<@id>):" opening, so who said what stays clear.
    """
    joined: list[InputItem] = []
    for item in items:
        if joined and joined[-1]["role"] == item["role"]:
            joined[-1] = {**joined[-1], "content": _join(joined[-1]["content"], item["content"])}
        else:
            joined.append(item)
    return joined


_JOIN = "\n\n"


def _size(item: InputItem) -> int:
    """An item's text; an item with no content of its own (reasoning, a tool call: local transcripts) counts
    as its JSON."""
    if "content" not in item:
        return len(json.dumps(item, separators=(",", ":")))
    return content_chars(item) + len(_JOIN)


def _parts(content: str | list[Part]) -> list[Part]:
    return [{"type": "input_text", "text": content}] if isinstance(content, str) else list(content)


def _join(first: str | list[Part], second: str | list[Part]) -> str | list[Part]:
    if isinstance(first, str) and isinstance(second, str):
        return first + _JOIN + second
    head, tail = _parts(first), _parts(second)
    if tail and tail[0].get("type") == "input_text":
        tail[0] = {**tail[0], "text": _JOIN + tail[0]["text"]}
    return head + tail


def _cut(item: InputItem, chars: int) -> InputItem:
    """The item with at most `chars` characters of text (and a mark where it was cut); images stay."""
    content = item["content"]
    if isinstance(content, str):
        return {**item, "content": content[:chars] + " […]"}
    parts: list[Part] = []
    for part in content:
        if part.get("type") != "input_text":
            parts.append(part)
        elif chars > 0:
            text = part["text"]
            parts.append({**part, "text": text if len(text) <= chars else text[:chars] + " […]"})
            chars -= len(text)
    return {**item, "content": parts}
