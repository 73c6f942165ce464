"""Slack's per-workspace rate tiers for the calls that write answers: one small budget per team, shared by
every answer the process is writing there.

Slack limits each Web API method per app per workspace (docs.slack.dev/apis/web-api/rate-limits; each method's
page names its tier): chat.startStream and chat.stopStream are Tier 2 (20+ a minute), chat.update Tier 3 (50+),
chat.appendStream Tier 4 (100+). A token bucket per method lets a few calls go at once and then refills so that
no minute ever holds more than the documented minimum. Taking never waits: an answer that finds no room writes
later (its text keeps accumulating), so one busy workspace or one rate-limited answer holds nobody else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError

from bot.slack.client import retry_after_seconds

# Calls per minute per workspace: the documented minimum of each method's tier.
TIER_PER_MINUTE: dict[str, int] = {
    "chat.startStream": 20,
    "chat.stopStream": 20,
    "chat.update": 50,
    "chat.appendStream": 100,
}
BURST_SHARE = 4  # a quarter of a minute's calls may go at once


@dataclass
class RateBudget:
    """A token bucket: at most `per_minute` calls in any 60 seconds, `burst` of them at once."""

    per_minute: int
    burst: int
    _tokens: float = field(init=False)
    _updated: float = field(init=False)

    def __post_init__(self) -> None:
        self._tokens = float(self.burst)
        self._updated = time.monotonic()

    def has_room(self) -> bool:
        now = time.monotonic()
        refill = (self.per_minute - self.burst) / 60.0  # burst + refill over a minute = per_minute
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * refill)
        self._updated = now
        return self._tokens >= 1.0

    def take(self) -> None:
        self._tokens -= 1.0


class WorkspaceBudget:
    """The rate budgets of one workspace."""

    def __init__(self) -> None:
        self._budgets = {
            method: RateBudget(per_minute, max(1, per_minute // BURST_SHARE))
            for method, per_minute in TIER_PER_MINUTE.items()
        }

    def try_take(self, *methods: str) -> bool:
        """One call of each of `methods` now, all or none (a stream needs its start and its stop)."""
        budgets = [self._budgets[m] for m in methods]
        if not all(b.has_room() for b in budgets):
            return False
        for budget in budgets:
            budget.take()
        return True


class Pacing:
    """Held by the process: one budget per workspace (a cache of a few floats: safe to lose)."""

    def __init__(self) -> None:
        self._workspaces: dict[str, WorkspaceBudget] = {}

    def budget(self, team_id: str) -> WorkspaceBudget:
        if team_id not in self._workspaces:
            self._workspaces[team_id] = WorkspaceBudget()
        return self._workspaces[team_id]


def retry_after(error: SlackApiError) -> float | None:
    """Seconds Slack asked to wait if `error` is a rate limit (HTTP 429), else None."""
    if error.response.status_code != 429:
        return None
    return retry_after_seconds(error.response.headers or {})
