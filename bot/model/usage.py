"""What a turn cost: its tokens, the log line that says so, and the daily budgets (pure functions)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from agents import Usage

from bot.shared import phrases
from bot.state.thread_state import ts_value
from bot.state.usage_counters import SpentToday


@dataclass(frozen=True)
class TurnUsage:
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    @classmethod
    def of_run(cls, usage: Usage) -> TurnUsage:
        """Summed over every model call of the run (the Agents SDK adds them up)."""
        return cls(
            input_tokens=usage.input_tokens,
            cached_tokens=usage.input_tokens_details.cached_tokens or 0,
            output_tokens=usage.output_tokens,
            reasoning_tokens=usage.output_tokens_details.reasoning_tokens or 0,
        )

    def __add__(self, other: TurnUsage) -> TurnUsage:
        return TurnUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )

    @property
    def total_tokens(self) -> int:
        """What the daily budget counts: every input token (cached or not) and every output token."""
        return self.input_tokens + self.output_tokens

    def counters(self) -> dict[str, int]:
        return {
            "input": self.input_tokens,
            "cached": self.cached_tokens,
            "output": self.output_tokens,
            "reasoning": self.reasoning_tokens,
        }


@dataclass(frozen=True)
class DailyBudgets:
    """Tokens (input and output) per UTC day; 0: unlimited."""

    user: int = 0
    channel: int = 0
    workspace: int = 0

    @property
    def any(self) -> bool:
        return bool(self.user or self.channel or self.workspace)


def usage_fields(
    conversation: str, *, model: str, how: str, compacted: bool, usage: TurnUsage, seconds: float
) -> dict[str, object]:
    """What the log says of a turn: where, which model, how the context was built, its tokens and duration."""
    return {
        "conversation": conversation,
        "model": model,
        "context": how + ("+compacted" if compacted else ""),
        "input": usage.input_tokens,
        "cached": usage.cached_tokens,
        "output": usage.output_tokens,
        "reasoning": usage.reasoning_tokens,
        "duration_ms": round(seconds * 1000),
    }


def usage_line(fields: dict[str, object]) -> str:
    """One log line per turn, `usage_fields` as key=value (the JSON log carries the same fields)."""
    return "turn usage " + " ".join(f"{name}={value}" for name, value in fields.items())


def budget_day(message_ts: str) -> str:
    """The UTC day a message was sent on, by Slack's clock: the day its tokens count towards."""
    return _moment(message_ts).strftime("%Y-%m-%d")


def over_budget(tokens_today: int, budget: int) -> bool:
    return budget > 0 and tokens_today >= budget


def exceeded_budget(spent: SpentToday, budgets: DailyBudgets) -> str | None:
    """Which daily budget is used up ("workspace", "channel" or "user"), the widest first; None if none is."""
    if over_budget(spent.workspace, budgets.workspace):
        return "workspace"
    if over_budget(spent.channel, budgets.channel):
        return "channel"
    if over_budget(spent.user, budgets.user):
        return "user"
    return None


_BUDGET_NOTES = {
    "user": phrases.OVER_BUDGET,
    "channel": phrases.OVER_CHANNEL_BUDGET,
    "workspace": phrases.OVER_WORKSPACE_BUDGET,
}


def budget_note(message_ts: str, which: str = "user") -> str:
    """The polite note for a message over today's budget (`which` one), saying when it resets."""
    moment = _moment(message_ts)
    midnight = datetime.datetime.combine(moment.date() + datetime.timedelta(days=1), datetime.time(), datetime.UTC)
    minutes = max(1, int((midnight - moment).total_seconds() // 60))
    wait = f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
    return _BUDGET_NOTES[which].format(wait=wait)


def _moment(message_ts: str) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(float(ts_value(message_ts)), datetime.UTC)
