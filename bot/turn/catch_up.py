"""What to summarize: "@bot catch me up on #channel (since Monday)", or a thread chosen with the shortcut (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.slack.text import strip_user_mention

DEFAULT_DAYS = 7
_CATCH_UP = re.compile(
    r"^\s*(?:please\s+)?catch\s+me\s+up\s+(?:on|in|with)\s+<#(?P<channel>[CG][A-Z0-9]+)(?:\|[^>]*)?>"
    r"(?:\s+(?P<since>since\s+.+?|(?:for\s+)?(?:the\s+)?(?:last|past)\s+.+?|today|yesterday))?\s*[.?!]*\s*$",
    re.IGNORECASE,
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_LAST_N = re.compile(r"(?:for\s+)?(?:the\s+)?(?:last|past)\s+(?P<n>\d+)?\s*(?P<unit>hour|day|week)s?", re.IGNORECASE)


@dataclass(frozen=True)
class SummaryRequest:
    channel_id: str
    thread_ts: str = ""  # a thread (the shortcut); empty: the channel's top-level messages
    oldest: float = 0.0  # unix seconds; 0: from the start (a thread)
    since_label: str = ""  # how the person said it, for the model and the notes


def catch_up_request(text: str, *, bot_user_id: str, now: datetime) -> SummaryRequest | None:
    """The channel and the moment from which to summarize, or None when the message asks something else."""
    match = _CATCH_UP.match(strip_user_mention(text, bot_user_id))
    if match is None:
        return None
    since = (match.group("since") or "").strip()
    oldest, label = since_moment(since, now)
    return SummaryRequest(channel_id=match.group("channel"), oldest=oldest.timestamp(), since_label=label)


def since_moment(words: str, now: datetime) -> tuple[datetime, str]:
    """'since Monday', 'yesterday', 'the last 3 days', 'since 2026-11-30'; anything else: the last week."""
    now = now.astimezone(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    lowered = words.lower().removeprefix("since").strip()
    if lowered == "today":
        return midnight, "today"
    if lowered == "yesterday":
        return midnight - timedelta(days=1), "since yesterday"
    if lowered in _WEEKDAYS:
        back = (now.weekday() - _WEEKDAYS.index(lowered)) % 7 or 7
        return midnight - timedelta(days=back), f"since {lowered.capitalize()}"
    last = _LAST_N.fullmatch(words.strip())
    if last is not None:
        count = int(last.group("n") or 1)
        unit = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}[last.group("unit")]
        return now - count * unit, f"the last {count} {last.group('unit')}(s)"
    try:
        day = datetime.strptime(lowered, "%Y-%m-%d").replace(tzinfo=UTC)
        return day, f"since {lowered}"
    except ValueError:
        pass
    return now - timedelta(days=DEFAULT_DAYS), f"the last {DEFAULT_DAYS} days"
