"""The model's Markdown as Slack messages: Slack's own `markdown` block, split where a reader would.

Slack renders standard Markdown in a `markdown` block (headings, bold, lists, links, code, tables),
so nothing is converted by hand; the only work here is splitting long answers at paragraph or
code-block boundaries so each message stays within Slack's limits and nothing is cut.
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Slack allows 12,000 characters of markdown blocks per message and refuses about 13,000 in
# practice; staying well under leaves room for a message's other fields.
MESSAGE_MARKDOWN_LIMIT = 10_000

# A message's `text` goes with its `markdown` block as the notification and accessibility fallback. chat.update
# refuses more than 4,000 characters (`msg_too_long`, docs.slack.dev/reference/methods/chat.update) and Slack
# advises chat.postMessage to stay under that too; the block carries the whole answer.
FALLBACK_TEXT_LIMIT = 3_000

_FENCE = re.compile(r"^(\s*)(```+|~~~+)(.*)$")


def markdown_blocks(text: str) -> list[dict[str, Any]]:
    return [{"type": "markdown", "text": text}]


# The parser behind the plain-text version (CommonMark plus GitHub's tables and strikethrough).
_MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def plain_text(markdown: str) -> str:
    """The `text` that goes with a `markdown` block: what notifications and screen readers read.

    Slack renders the block itself; this keeps the words and drops the markup a reader would hear as
    symbols (heading hashes, emphasis, fences, table rules, link syntax). Code stays as written; list
    items keep their bullet or number, table rows their cells.
    """
    pieces: list[tuple[str, int | None]] = []  # (text, the list or table it belongs to)
    groups: list[int] = []  # the open lists and tables, innermost last
    cells: list[str] | None = None
    prefix = ""
    for n, token in enumerate(_MARKDOWN.parse(markdown)):
        if token.type in ("bullet_list_open", "ordered_list_open", "table_open"):
            groups.append(n)
        elif token.type in ("bullet_list_close", "ordered_list_close", "table_close"):
            groups.pop()
        elif token.type == "list_item_open":
            prefix = f"{token.info}{token.markup} " if token.info else "- "  # info: an ordered item's number
        elif token.type == "tr_open":
            cells = []
        elif token.type == "tr_close" and cells is not None:
            pieces.append(("| " + " | ".join(cells) + " |", groups[-1]))
            cells = None
        elif token.type in ("fence", "code_block"):
            pieces.append((token.content.rstrip("\n"), None))
        elif token.type == "inline":
            text = _inline_text(token.children or [])
            if cells is not None:
                cells.append(text)
            else:
                pieces.append((prefix + text, groups[-1] if groups else None))
                prefix = ""
    text = ""
    for i, (piece, group) in enumerate(pieces):
        if i:
            tight = group is not None and group == pieces[i - 1][1]
            text += "\n" if tight else "\n\n"
        text += piece
    return text.strip()


def fallback_text(markdown: str, limit: int = FALLBACK_TEXT_LIMIT) -> str:
    """The plain-text version of `markdown`, cut at a word to fit every chat method's `text` limit."""
    text = plain_text(markdown) or "…"
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    return text[: cut if cut > limit // 2 else limit - 1].rstrip() + "…"


def _inline_text(children: list[Token]) -> str:
    parts: list[str] = []
    links: list[tuple[str, int]] = []  # (href, where its label starts)
    for token in children:
        if token.type in ("text", "code_inline", "html_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif token.type == "image":
            parts.append(token.content)
        elif token.type == "link_open":
            links.append((str(token.attrGet("href") or ""), len(parts)))
        elif token.type == "link_close" and links:
            href, start = links.pop()
            label = "".join(parts[start:])
            if href and href != label and href.removeprefix("mailto:") != label:
                parts.append(f" ({href})")
    return "".join(parts)


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
