"""The usage section of the Home tab. Admins see the workspace's tokens today and over 7 days by person, channel
and model (with estimated cost at `[prices]`), turns by outcome, feedback, the memory mode, MCP servers' health
and the budgets in use; everyone else sees their own tokens and budget.

Gathering (`UsageView.section`) reads Redis once (7 day hashes, one pipeline); the rendering is plain functions.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from bot.model.operating_config import Prices
from bot.model.usage import DailyBudgets
from bot.shared.metrics import TURN_OUTCOMES
from bot.slack.admins import Admins
from bot.slack.home_tab import Block
from bot.state.usage_counters import DayUsage, UsageCounters

DAYS = 7
TOP_ROWS = 10  # per table: a section's text holds 3,000 characters (docs.slack.dev/reference/block-kit/blocks)
# The hook for feedback (issue 18): (team id, days) -> {"up": n, "down": n}; None until feedback is stored.
FeedbackTallies = Callable[[str, list[str]], Awaitable[Mapping[str, int]]]


@dataclass(frozen=True)
class ViewFacts:
    """What the view shows besides the counters: set at start-up."""

    memory_mode: str
    budgets: DailyBudgets
    prices: Prices
    mcp_health: Callable[[], Mapping[str, bool]]


class UsageView:
    def __init__(
        self,
        counters: UsageCounters,
        admins: Admins,
        facts: ViewFacts,
        *,
        feedback_tallies: FeedbackTallies | None = None,
        today: Callable[[], datetime.date] = lambda: datetime.datetime.now(datetime.UTC).date(),
    ) -> None:
        self._counters = counters
        self._admins = admins
        self._facts = facts
        self.feedback_tallies = feedback_tallies  # the lead wires issue 18's store here
        self._today = today

    async def section(self, team_id: str, user_id: str) -> list[Block]:
        days = last_days(self._today(), DAYS)
        usage = await self._counters.days(team_id, days)
        today, week = usage[0], DayUsage()
        for day in usage:
            week.merge(day)
        if not await self._admins.is_admin(user_id):
            return own_usage_blocks(user_id, today, week, self._facts)
        feedback = await self.feedback_tallies(team_id, days) if self.feedback_tallies is not None else None
        return admin_blocks(today, week, self._facts, feedback)


def last_days(today: datetime.date, count: int) -> list[str]:
    """`count` UTC days ending with `today`, newest first, as the counters name them."""
    return [(today - datetime.timedelta(days=n)).isoformat() for n in range(count)]


# Rendering ------------------------------------------------------------------------------------------------------
def own_usage_blocks(user_id: str, today: DayUsage, week: DayUsage, facts: ViewFacts) -> list[Block]:
    spent_today = _total(today.by_user.get(user_id, {}))
    spent_week = _total(week.by_user.get(user_id, {}))
    lines = [f"Today: *{spent_today:,}* tokens", f"Last {DAYS} days: *{spent_week:,}* tokens"]
    if facts.budgets.user:
        left = max(0, facts.budgets.user - spent_today)
        lines.append(f"Your daily budget: {facts.budgets.user:,} tokens ({left:,} left today; resets at midnight UTC)")
    return [_header("Your usage"), _text("\n".join(lines))]


def admin_blocks(today: DayUsage, week: DayUsage, facts: ViewFacts, feedback: Mapping[str, int] | None) -> list[Block]:
    blocks = [_header("Usage (admins)")]
    for title, usage in (("Today", today), (f"Last {DAYS} days", week)):
        blocks.append(_text(f"*{title}*"))
        blocks.append(_text(_table("By person", usage.by_user, facts.prices, lambda u: f"<@{u}>")))
        blocks.append(_text(_table("By channel", usage.by_channel, facts.prices, _channel)))
        blocks.append(_text(_model_table(usage, facts.prices)))
        blocks.append(_text(_outcomes(usage.outcomes)))
    if feedback is not None:
        blocks.append(_text(f"*Feedback* ({DAYS} days): 👍 {feedback.get('up', 0):,}  👎 {feedback.get('down', 0):,}"))
    blocks.append(_text(_setup(facts, spent_today=sum(_total(models) for models in today.by_user.values()))))
    return blocks


def _table(
    title: str, rows: Mapping[str, Mapping[str, Mapping[str, int]]], prices: Prices, name: Callable[[str], str]
) -> str:
    if not rows:
        return f"_{title}_: nothing yet"
    ranked = sorted(rows.items(), key=lambda item: _total(item[1]), reverse=True)
    lines = [f"_{title}_"]
    for who, models in ranked[:TOP_ROWS]:
        lines.append(f"• {name(who)}: {_total(models):,} tokens{_cost_text(models, prices)}")
    if len(ranked) > TOP_ROWS:
        rest = sum(_total(models) for _who, models in ranked[TOP_ROWS:])
        lines.append(f"• {len(ranked) - TOP_ROWS} more: {rest:,} tokens")
    return "\n".join(lines)


def _model_table(usage: DayUsage, prices: Prices) -> str:
    models = usage.by_model()
    if not models:
        return "_By model_: nothing yet"
    lines = ["_By model_"]
    for model, kinds in sorted(models.items(), key=lambda item: -_kinds_total(item[1])):
        cost = _cost_text({model: kinds}, prices)
        lines.append(
            f"• `{model}`: {kinds.get('input', 0):,} in ({kinds.get('cached', 0):,} cached), "
            f"{kinds.get('output', 0):,} out{cost}"
        )
    return "\n".join(lines)


def _outcomes(outcomes: Mapping[str, int]) -> str:
    counts = ", ".join(f"{name} {outcomes.get(name, 0):,}" for name in TURN_OUTCOMES)
    return f"_Turns_: {counts}"


def _setup(facts: ViewFacts, *, spent_today: int) -> str:
    health = facts.mcp_health()
    servers = ", ".join(f"{name} {'up' if up else '*down*'}" for name, up in sorted(health.items())) or "none"
    budgets = facts.budgets
    shown = [
        f"{label} {value:,}"
        for label, value in (
            ("per person", budgets.user),
            ("per channel", budgets.channel),
            ("workspace", budgets.workspace),
        )
        if value
    ]
    if budgets.workspace:
        shown[-1] += f" ({spent_today:,} used today)"
    return (
        f"*Set-up*\nMemory mode: `{facts.memory_mode}`\nMCP servers: {servers}\n"
        f"Daily token budgets: {', '.join(shown) if shown else 'none'}"
    )


def estimated_cost(models: Mapping[str, Mapping[str, int]], prices: Prices) -> float | None:
    """Dollars for these tokens at `prices`; None when no model among them has a price."""
    known = [(prices.of(model), kinds) for model, kinds in models.items() if prices.of(model) is not None]
    if not known:
        return None
    return sum(
        price.cost(
            input_tokens=kinds.get("input", 0),
            cached_tokens=kinds.get("cached", 0),
            output_tokens=kinds.get("output", 0),
        )
        for price, kinds in known
        if price is not None
    )


def _cost_text(models: Mapping[str, Mapping[str, int]], prices: Prices) -> str:
    cost = estimated_cost(models, prices)
    return "" if cost is None else f" (≈ ${cost:,.2f})"


def _total(models: Mapping[str, Mapping[str, int]]) -> int:
    return sum(_kinds_total(kinds) for kinds in models.values())


def _kinds_total(kinds: Mapping[str, int]) -> int:
    return kinds.get("input", 0) + kinds.get("output", 0)  # what the budgets count


def _channel(channel_id: str) -> str:
    return "direct messages" if channel_id.startswith("D") else f"<#{channel_id}>"


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _text(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}
