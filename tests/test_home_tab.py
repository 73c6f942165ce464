"""The app's Home tab: opening it shows the person their view, built from the sections features add."""

from __future__ import annotations

from conftest import ALICE

from bot.slack.notes_home import NONE_YET, TITLE


async def test_opening_the_home_tab_shows_a_view_even_with_nothing_to_show(bot, slack, model):
    opened = {"type": "app_home_opened", "user": ALICE, "tab": "home", "event_ts": "1.000001"}

    assert (await bot.send_event(opened)).status == 200

    await slack.wait_for(lambda: ALICE in slack.home_views)
    view = slack.home_views[ALICE]
    assert view["type"] == "home"
    assert view["blocks"][0]["text"]["text"] == TITLE  # the long-term memory section, with nothing in it yet
    assert NONE_YET in view["blocks"][1]["text"]["text"]


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
    assert texts == [TITLE, NONE_YET, None, f"Notes of <@{ALICE}>"]  # memory's section, a divider, the new one
