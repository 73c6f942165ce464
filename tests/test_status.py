"""While the bot thinks, people see that it is working; the cue goes away when the answer is there."""

from __future__ import annotations

from conftest import ALICE
from harness import say

from bot.slack.status import THINKING_REACTION, THINKING_STATUS


async def test_a_slow_answer_in_a_channel_thread_shows_slacks_thinking_status_until_it_is_there(bot, slack, model):
    model.latency = 1.0  # the model takes a while before writing anything

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> think hard about this")

    await slack.wait_for(lambda: ("C1", question["ts"], THINKING_STATUS) in slack.statuses)
    assert slack.bot_messages("C1", question["ts"]) == []  # the cue came before the answer
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert slack.calls_to("reactions.add") == []  # no :eyes: where Slack shows the real status
    assert len(slack.calls_to("assistant.threads.setStatus")) == 1  # Slack clears it when the bot replies


async def test_at_the_top_of_a_dm_a_slow_answer_shows_eyes_on_the_question_until_it_is_there(bot, slack, model):
    model.latency = 1.0

    question = await say(bot, slack, "D1", ALICE, "think hard about this")

    await slack.wait_for(lambda: slack.reactions.get(("D1", question["ts"])) == {THINKING_REACTION})
    await slack.wait_for_bot_messages("D1", None, 1)
    await slack.wait_for(lambda: ("D1", question["ts"]) not in slack.reactions)
    assert len(slack.calls_to("reactions.add")) == len(slack.calls_to("reactions.remove")) == 1


async def test_where_slack_refuses_the_status_the_question_gets_eyes_instead(bot, slack, model):
    model.latency = 1.0
    slack.fail_next("assistant.threads.setStatus", "missing_scope")  # e.g. an app installed before the scope change

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> think hard about this")

    await slack.wait_for(lambda: slack.reactions.get(("C1", question["ts"])) == {THINKING_REACTION})
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    await slack.wait_for(lambda: ("C1", question["ts"]) not in slack.reactions)


async def test_the_cue_goes_away_when_the_answer_fails_too(bot, slack, model):
    model.latency = 1.0
    model.fail_next(status=400, message="Unsupported parameter.")

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> think hard about this")

    [notice] = await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert notice["text"] == "Something went wrong on my side and I couldn't answer. Please try again."
    await slack.wait_for(lambda: slack.statuses[-1] == ("C1", question["ts"], ""))


async def test_an_instant_answer_shows_no_status_at_all(start_bot, slack, model):
    bot = await start_bot(instant_answer_seconds=3.0)

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> hi")

    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert slack.calls_to("reactions.add") == []
    assert slack.calls_to("assistant.threads.setStatus") == []


async def _assistant_thread(bot, slack) -> str:
    root = slack.post_user_message("D1", ALICE, "New chat", subtype="assistant_app_thread")
    await bot.send_event(
        {
            "type": "assistant_thread_started",
            "assistant_thread": {"user_id": ALICE, "channel_id": "D1", "thread_ts": root["ts"], "context": {}},
            "event_ts": root["ts"],
        }
    )
    await slack.wait_for_bot_messages("D1", root["ts"], 1)  # the greeting
    return root["ts"]


async def test_in_the_assistant_pane_the_status_line_says_the_bot_is_thinking(bot, slack, model):
    thread = await _assistant_thread(bot, slack)
    model.latency = 1.0

    await say(bot, slack, "D1", ALICE, "what is a monad?", thread_ts=thread)

    await slack.wait_for(lambda: ("D1", thread, THINKING_STATUS) in slack.statuses)
    await slack.wait_for_bot_messages("D1", thread, 2)
    assert slack.calls_to("reactions.add") == []
    # Slack clears the status itself when the bot replies; a failed turn clears it explicitly.
    model.fail_next(status=400, message="Unsupported parameter.")
    await say(bot, slack, "D1", ALICE, "and a functor?", thread_ts=thread)
    await slack.wait_for_bot_messages("D1", thread, 3)
    await slack.wait_for(lambda: slack.statuses[-1] == ("D1", thread, ""))
