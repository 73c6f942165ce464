"""The app's Home tab: opening it shows the person their view, built from the sections features add."""

from __future__ import annotations

from conftest import ALICE

from bot.slack.home_tab import HomeTab
from bot.slack.notes_home import NONE_YET, TITLE


async def test_opening_the_home_tab_shows_a_view(bot, slack, model):
    opened = {"type": "app_home_opened", "user": ALICE, "tab": "home", "event_ts": "1.000001"}

    assert (await bot.send_event(opened)).status == 200

    await slack.wait_for(lambda: ALICE in slack.home_views)
    view = slack.home_views[ALICE]
    assert view["type"] == "home"
    assert view["blocks"][0]["text"]["text"] == "Your usage"  # the usage view is the first section
    texts = [b.get("text", {}).get("text") for b in view["blocks"]]
    assert texts[texts.index(TITLE) + 1] == NONE_YET  # then long-term memory's, with nothing in it yet


async def test_a_home_tab_without_sections_says_there_is_nothing_to_show(bot, slack, model):
    blocks = await HomeTab(bot.bot.slack).blocks_for("T0001", ALICE)

    assert "Nothing to show here yet" in blocks[0]["text"]["text"]


async def test_each_section_a_feature_adds_is_shown_and_a_failing_one_is_left_out(bot, slack, model):
    async def notes(team_id: str, user_id: str) -> list[dict]:
        return [{"type": "section", "text": {"type": "mrkdwn", "text": f"Notes of <@{user_id}>"}}]

    async def broken(team_id: str, user_id: str) -> list[dict]:
        raise RuntimeError("this feature is down")

    bot.bot.home_tab.add_section(notes)
    bot.bot.home_tab.add_section(broken)
    await bot.send_event({"type": "app_home_opened", "user": ALICE, "tab": "home", "event_ts": "1.000002"})

    await slack.wait_for(lambda: ALICE in slack.home_views)
    texts = [b.get("text", {}).get("text") for b in slack.home_views[ALICE]["blocks"]]
    assert texts[-1] == f"Notes of <@{ALICE}>"
    assert texts[-2] is None  # a divider between sections; nothing of the broken one
    assert texts[0] == "Your usage"
