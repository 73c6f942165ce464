"""The model's Markdown as Slack messages: Slack's own `markdown` block, split where a reader would.

Slack renders standard Markdown in a `markdown` block (headings, bold, lists, links, code, tables),
so nothing is converted by hand; the only work here is splitting long answers at paragraph or
code-block boundaries so each message stays within Slack's limits and nothing is cut.
"""

from __future__ import annotations

import re
from typing import Any

# Slack allows 12,000 characters of markdown blocks per message and refuses about 13,000 in
# practice; staying well under leaves room for a message's other fields.
MESSAGE_MARKDOWN_LIMIT = 10_000

_FENCE = re.compile(r"^(\s*)(```+|~~~+)(.*)$")


def markdown_blocks(text: str) -> list[dict[str, Any]]:
    return [{"type": "markdown", "text": text}]


_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_EMPHASIS = re.compile(r"(\*\*|__|~~)(?=\S)(.+?)(?<=\S)\1")
_LINK = re.compile(r"!?\[([^\]\n]+)\]\((\S+?)\)")
_TABLE_RULE = re.compile(r"^\s*\|?(\s*:?-{3,}:?\s*\|)+\s*(:?-{3,}:?)?\s*$")


def plain_text(markdown: str) -> str:
    """The `text` that goes with a `markdown` block: what notifications and screen readers read.

    Slack renders the block itself; this only drops the markers a reader would hear as symbols
    (heading hashes, `**`, fences, table rules, link syntax) and leaves code as written.
    """
    lines: list[str] = []
    in_code = False
    for line in markdown.split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            lines.append(line)
            continue
        if _TABLE_RULE.match(line):
            continue
        line = _HEADING.sub("", line)
        line = _EMPHASIS.sub(r"\2", line)
        line = _LINK.sub(lambda m: m.group(1) if m.group(1) == m.group(2) else f"{m.group(1)} ({m.group(2)})", line)
        lines.append(line)
    return "\n".join(lines).strip()


def split_markdown(text: str, limit: int = MESSAGE_MARKDOWN_LIMIT) -> list[str]:
    """Parts of at most `limit` characters, broken between paragraphs and code blocks where possible."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    current = ""
    for unit in _units(text, limit):
        candidate = f"{current}\n\n{unit}" if current else unit
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        current = unit
    if current:
        parts.append(current)
    return parts


def _units(text: str, limit: int) -> list[str]:
    """Paragraphs and whole fenced code blocks, each cut further only if longer than `limit`."""
    units: list[str] = []
    for block, fence in _blocks(text):
        if len(block) <= limit:
            units.append(block)
        elif fence is not None:
            units.extend(_split_code(block, fence, limit))
        else:
            units.extend(_split_lines(block, limit))
    return units


def _blocks(text: str) -> list[tuple[str, str | None]]:
    """(block, fence opener or None): paragraphs split at blank lines, code fences kept whole."""
    blocks: list[tuple[str, str | None]] = []
    lines: list[str] = []
    fence: str | None = None
    fence_mark = ""

    def flush() -> None:
        if any(line.strip() for line in lines):
            blocks.append(("\n".join(lines).strip("\n"), fence))
        lines.clear()

    for line in text.split("\n"):
        match = _FENCE.match(line)
        if fence is None and match:
            flush()
            fence, fence_mark = line.strip(), match.group(2)
            lines.append(line)
        elif fence is not None:
            lines.append(line)
            closes = match and match.group(2)[0] == fence_mark[0] and len(match.group(2)) >= len(fence_mark)
            if closes and not match.group(3).strip():
                flush()
                fence = None
        elif not line.strip():
            flush()
        else:
            lines.append(line)
    flush()
    return blocks


def _split_code(block: str, opener: str, limit: int) -> list[str]:
    """A long code block as several, each closed and reopened with the same fence."""
    mark = _FENCE.match(opener)
    closer = mark.group(2) if mark else "```"
    body = block.split("\n")[1:]
    if body and _FENCE.match(body[-1]):
        body = body[:-1]
    room = limit - len(opener) - len(closer) - 2
    pieces: list[str] = []
    for chunk in _split_lines("\n".join(body), room):
        pieces.append(f"{opener}\n{chunk}\n{closer}")
    return pieces


def _split_lines(text: str, limit: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:cut])
            line = line[cut:].lstrip(" ") if cut < limit else line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
        else:
            pieces.append(current)
            current = line
    if current:
        pieces.append(current)
    return pieces


def open_fence(text: str) -> str | None:
    """The opening line of a fenced code block left open at the end of `text`, if any."""
    opener: str | None = None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if not match:
            continue
        if opener is None:
            opener = line.strip()
        elif not match.group(3).strip() and match.group(2)[0] == opener.lstrip()[0]:
            opener = None
    return opener


def cut_for_room(shown: str, text: str, room: int) -> tuple[str, str]:
    """Split `text` (to follow `shown` in one message) into what still fits in `room` and the rest.

    Breaks at a paragraph, else a line, else a word; a code block open at the cut is closed in
    the head and reopened in the rest, so both messages render as code.
    """
    window = text[: max(0, room - 8)]  # room for closing a code fence
    cut = window.rfind("\n\n")
    if cut < len(window) // 4:
        cut = window.rfind("\n")
    if cut < len(window) // 4:
        cut = window.rfind(" ")
    if cut <= 0:
        cut = len(window)
    head, tail = text[:cut], text[cut:].lstrip("\n")
    opener = open_fence(shown + head)
    if opener:
        fence = _FENCE.match(opener)
        head += "\n" + (fence.group(2) if fence else "```")
        tail = f"{opener}\n{tail}"
    return head, tail
