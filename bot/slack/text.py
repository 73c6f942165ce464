"""Slack message markup (`<@U1>`, `<#C1|name>`, `<url|text>`, `&amp;`) turned into readable text."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping

_MARKUP = re.compile(r"<([^<>\n]+)>")
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def mentioned_user_ids(text: str) -> list[str]:
    """User ids mentioned in `text`, in order, without repeats."""
    return list(dict.fromkeys(_USER_MENTION.findall(text)))


def mentions_user(text: str, user_id: str) -> bool:
    return bool(user_id) and user_id in mentioned_user_ids(text)


def strip_user_mention(text: str, user_id: str) -> str:
    """`text` without mentions of `user_id` (the bot addressing itself is not content)."""
    if not user_id:
        return text
    stripped = re.sub(rf"<@{re.escape(user_id)}(?:\|[^>]*)?>", " ", text)
    return re.sub(r"[ \t]{2,}", " ", stripped).strip()


def strip_leading_mention(text: str, user_id: str) -> str:
    """`text` without a mention of `user_id` at its start: addressing the bot is not content."""
    return re.sub(rf"^\s*<@{re.escape(user_id)}(?:\|[^>]*)?>[\s,:]*", "", text) if user_id else text


def to_readable(text: str, names: Mapping[str, str]) -> str:
    """Slack markup as a person would read it: `<@U1>` -> `@Alice`, `<url|label>` -> `label (url)`."""

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            user_id = target[1:]
            return "@" + (names.get(user_id) or label or user_id)
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!subteam^"):
            return label or "@group"
        if target.startswith("!"):
            special = target[1:].split("^", 1)[0]
            return label or ("@" + special)
        if target.startswith("mailto:"):
            return label or target.removeprefix("mailto:")
        if label and label != target:
            return f"{label} ({target})"
        return target

    return html.unescape(_MARKUP.sub(replace, text))


def people_in(texts: Iterable[str]) -> list[str]:
    """Every user id mentioned across `texts`, first mention first."""
    seen: dict[str, None] = {}
    for text in texts:
        for user_id in mentioned_user_ids(text):
            seen.setdefault(user_id)
    return list(seen)
