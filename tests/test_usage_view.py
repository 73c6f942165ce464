"""Admins see the workspace's usage on the bot's Home tab (tokens by person, channel and model, estimated cost,
turns by outcome, the set-up); everyone else sees only their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import ALICE, BOB
from harness import say, thread_with

from bot.state.usage_counters import DayUsage, TurnCount, day_fields

PRICES = '[prices."gpt-test"]\ninput = 10000\ncached = 1000\noutput = 20000\n'


def texts_of(view: dict[str, Any]) -> str:
    return "\n".join(str(b.get("text", {}).get("text", "")) for b in view["blocks"])


def spent(model: Any, who: str) -> tuple[int, float]:
    """Tokens (input and output) of the requests `who` asked, and what they cost at PRICES."""
    requests = [r for r in model.requests if r.last_user_text.startswith(f"{who} (")]
    tokens = cost = 0.0
    for r in requests:
        usage = r.usage
        cached = usage["input_tokens_details"]["cached_tokens"]
        tokens += usage["input_tokens"] + usage["output_tokens"]
        cost += ((usage["input_tokens"] - cached) * 10000 + cached * 1000 + usage["output_tokens"] * 20000) / 1e6
    return int(tokens), cost


async def open_home(bot: Any, slack: Any, user: str) -> str:
    slack.home_views.pop(user, None)
    await bot.send_event({"type": "app_home_opened", "user": user, "tab": "home", "event_ts": "1.000001"})
    await slack.wait_for(lambda: user in slack.home_views)
    return texts_of(slack.home_views[user])


async def test_an_admin_sees_the_workspace_totals_and_a_non_admin_only_their_own(
    tmp_path: Path, start_bot, slack, model
):
    slack.admin.admins.add(ALICE)
    config = tmp_path / "agent.toml"
    config.write_text(PRICES)
    bot = await start_bot(
        agent_config=str(config), daily_token_budget_per_user=50_000, daily_token_budget_per_workspace=1_000_000
    )
    await thread_with(bot, slack, ALICE, ["what's our deploy checklist?", "and the rollback plan?"])
    question = await say(bot, slack, "C2", BOB, "<@UBOT> where are the runbooks?")
    await slack.wait_for_bot_messages("C2", question["ts"], 1)
    await bot.settled()
    alice, alice_cost = spent(model, "alice")
    bob, bob_cost = spent(model, "bob")

    admin_view = await open_home(bot, slack, ALICE)

    assert admin_view.count(f"• <@{ALICE}>: {alice:,} tokens (≈ ${alice_cost:,.2f})") == 2  # today and 7 days
    assert f"• <@{BOB}>: {bob:,} tokens (≈ ${bob_cost:,.2f})" in admin_view
    assert f"• <#C1>: {alice:,} tokens" in admin_view and f"• <#C2>: {bob:,} tokens" in admin_view
    assert f"(≈ ${alice_cost + bob_cost:,.2f})" in admin_view  # the model's row
    assert "_Turns_: chained 1, rebuilt 0, new 2, alone 0, failed 0" in admin_view
    assert "Memory mode: `responses`" in admin_view
    assert f"Daily token budgets: per person 50,000, workspace 1,000,000 ({alice + bob:,} used today)" in admin_view

    own_view = await open_home(bot, slack, BOB)

    assert f"Today: *{bob:,}* tokens" in own_view
    assert f"{50_000 - bob:,} left today" in own_view
    assert ALICE not in own_view and "C1" not in own_view and "Memory mode" not in own_view


async def test_admin_user_ids_make_someone_an_admin_without_a_workspace_role(start_bot, slack, model):
    bot = await start_bot(admin_user_ids=frozenset({BOB}))
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> hello")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    await bot.settled()

    view = await open_home(bot, slack, BOB)

    assert "Usage (admins)" in view and f"<@{ALICE}>" in view
    assert "Your usage" in await open_home(bot, slack, ALICE)


def test_a_fine_tuned_model_whose_name_holds_colons_is_counted_under_its_whole_name():
    turn = TurnCount("UALICE", "C1", "ft:gpt-4o:acme:7", "chained", {"input": 100, "cached": 40, "output": 10})
    raw = {name.encode(): str(value).encode() for name, value in day_fields(turn).items()}

    usage = DayUsage.parse(raw)

    assert usage.by_model() == {"ft:gpt-4o:acme:7": {"input": 100, "cached": 40, "output": 10}}
    assert usage.by_channel == {"C1": {"ft:gpt-4o:acme:7": {"input": 100, "cached": 40, "output": 10}}}
    assert usage.outcomes == {"chained": 1}
