"""A slow answer appears while the model writes it; a quick one arrives whole, in one message; tool progress and
the answer share one stream; Stop ends it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from conftest import ALICE
from fakes.openai_tools import CallTool
from harness import free_port, say
from tool_server import ToolServer

from bot.shared import phrases

SLOW_ANSWER = (
    "Paris is the capital of France. It sits on the Seine, has about two million people, "
    "and has been the seat of French government for most of the last thousand years."
)

ANSWER_METHODS = ("chat.postMessage", "chat.update", "chat.startStream", "chat.appendStream", "chat.stopStream")


def _answer_calls(slack, since: int) -> list[str]:
    return [c.method for c in slack.calls[since:] if c.method.startswith(("chat.", "reactions.", "assistant."))]


async def test_a_slow_answer_streams_into_the_thread_in_pieces_and_ends_whole(bot, slack, model):
    model.reply_with(SLOW_ANSWER)
    model.stream_chunks, model.stream_chunk_delay = 8, 0.3  # about 2.4 s of writing

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> tell me about Paris")
    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=10)

    assert answer["text"] == SLOW_ANSWER
    [start] = slack.calls_to("chat.startStream")
    assert len(start.args["markdown_text"]) < len(SLOW_ANSWER) / 2  # it began long before the end
    assert len(slack.calls_to("chat.appendStream")) >= 2  # and grew in front of the reader
    assert len(slack.calls_to("chat.stopStream")) == 1
    assert (start.args["thread_ts"], start.args["recipient_user_id"], start.args["recipient_team_id"]) == (
        question["ts"],
        ALICE,
        "T0001",
    )
    streamed = model.requests[-1].response_id

    model.stream_chunk_delay = 0.0
    await say(bot, slack, "C1", ALICE, "and its population?", thread_ts=question["ts"])
    await slack.wait_for_bot_messages("C1", question["ts"], 2, timeout=10)
    assert model.requests[-1].previous_response_id == streamed  # chained from the finished stream


async def test_when_slack_refuses_streaming_one_message_is_edited_as_the_answer_grows(bot, slack, model):
    slack.streaming_error = "unknown_method"  # e.g. a Slack without the streaming methods
    model.reply_with(SLOW_ANSWER, SLOW_ANSWER)
    model.stream_chunks, model.stream_chunk_delay = 5, 0.3

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> tell me about Paris")
    # The posted message is edited as the answer grows: wait until it shows all of it.
    await slack.wait_for(lambda: [m["text"] for m in slack.bot_messages("C1", question["ts"])] == [SLOW_ANSWER], 10)

    [answer] = slack.bot_messages("C1", question["ts"])
    assert answer["blocks"] == [{"type": "markdown", "text": SLOW_ANSWER}]
    assert answer["text"] == SLOW_ANSWER
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert len(slack.calls_to("chat.update")) >= 1

    # Slack's refusal is remembered: the next slow answer goes straight to editing.
    await say(bot, slack, "C1", ALICE, "say it again", thread_ts=question["ts"])
    await slack.wait_for(lambda: [m["text"] for m in slack.bot_messages("C1", question["ts"])] == [SLOW_ANSWER] * 2, 10)
    assert len(slack.calls_to("chat.startStream")) == 1


async def test_a_quick_answer_is_posted_whole_in_one_slack_call(start_bot, slack, model):
    # A generous threshold keeps "quick" true on a busy machine; the answer itself takes milliseconds.
    bot = await start_bot(instant_answer_seconds=3.0)
    event = slack.post_user_message("C1", ALICE, "<@UBOT> hi")
    since = len(slack.calls)
    await bot.send_event(event)

    [answer] = await slack.wait_for_bot_messages("C1", event["ts"], 1)

    assert answer["text"] == "Reply 1: alice (<@UALICE>): hi"
    assert _answer_calls(slack, since) == ["chat.postMessage"]


async def test_a_stream_cut_midway_keeps_what_arrived_with_a_note_and_memory_stays_put(bot, slack, model):
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> my favourite number is 7")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    remembered = model.requests[-1].response_id

    model.reply_with("one two three four five six seven eight nine ten eleven twelve")
    model.stream_chunks, model.stream_chunk_delay = 6, 0.2
    model.fail_stream_midway_next(after_deltas=3)
    await say(bot, slack, "C1", ALICE, "count to twelve", thread_ts=question["ts"])

    answers = await slack.wait_for_bot_messages("C1", question["ts"], 2, timeout=10)
    cut = answers[1]["text"]
    assert cut.startswith("one two three four five six")
    assert "seven" not in cut
    assert cut.endswith(phrases.STREAM_CUT)
    assert model.requests[-1].stream_broken

    await say(bot, slack, "C1", ALICE, "what is my favourite number?", thread_ts=question["ts"])
    await slack.wait_for_bot_messages("C1", question["ts"], 3, timeout=10)
    assert model.requests[-1].previous_response_id == remembered  # not the broken stream's


async def test_a_place_slack_will_not_stream_in_falls_back_for_that_answer_only(bot, slack, model):
    model.reply_with(SLOW_ANSWER, SLOW_ANSWER)
    model.stream_chunks, model.stream_chunk_delay = 5, 0.3
    slack.fail_next("chat.startStream", "channel_type_not_supported")  # e.g. a channel type Slack cannot stream in

    first = await say(bot, slack, "C1", ALICE, "<@UBOT> tell me about Paris")
    await slack.wait_for(lambda: [m["text"] for m in slack.bot_messages("C1", first["ts"])] == [SLOW_ANSWER], 10)
    assert slack.calls_to("chat.update")  # that answer was edited in place

    second = await say(bot, slack, "C2", ALICE, "<@UBOT> tell me about Paris again")
    [streamed] = await slack.wait_for_bot_messages("C2", second["ts"], 1, timeout=10)
    assert streamed["text"] == SLOW_ANSWER
    assert len(slack.calls_to("chat.startStream")) == 2  # the workspace still streams elsewhere
    assert slack.calls_to("chat.stopStream")[-1].args["channel"] == "C2"


@pytest.fixture
async def tickets() -> AsyncIterator[ToolServer]:
    server = await ToolServer(free_port()).start()
    yield server
    await server.stop()


async def test_an_answer_that_used_a_tool_streams_its_progress_and_then_the_whole_answer(
    start_bot, slack, model, tickets, tmp_path
):
    config = tmp_path / "agent.toml"
    config.write_text(f'[mcp_servers.tickets]\nurl = "{tickets.url}"\ntools = ["lookup_ticket"]\n')
    bot = await start_bot(agent_config=str(config))
    model.reply_with(CallTool("lookup_ticket", {"ticket_id": "T-42"}), SLOW_ANSWER)
    model.stream_chunks, model.stream_chunk_delay = 8, 0.3

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> what's going on with T-42?")
    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=10)

    assert answer["text"] == SLOW_ANSWER
    assert [(t["title"], t["status"]) for t in slack.tasks("C1", answer["ts"])] == [
        ("Calling `lookup_ticket`…", "complete")
    ]
    [start] = slack.calls_to("chat.startStream")
    assert start.args["chunks"][0]["type"] == "task_update"  # the progress opened the stream...
    appended = [c for call in slack.calls_to("chat.appendStream") for c in call.args["chunks"]]
    texts = [c for c in appended if c["type"] != "task_update"]
    assert len(texts) >= 2 and {c["type"] for c in texts} == {"markdown_text"}  # ...and the answer streamed into it
    assert slack.refusals == []  # not one call Slack would refuse (streaming_mode_mismatch before the fix)

    model.stream_chunk_delay = 0.0
    await say(bot, slack, "C1", ALICE, "who owns it?", thread_ts=question["ts"])
    await slack.wait_for_bot_messages("C1", question["ts"], 2)
    assert model.requests[-1].previous_response_id == model.requests[1].response_id  # remembered


async def test_when_the_person_presses_stop_the_answer_keeps_what_it_shows_and_nothing_more_is_written(
    bot, slack, model
):
    model.reply_with(SLOW_ANSWER)
    model.stream_chunks, model.stream_chunk_delay = 8, 0.3

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> tell me about Paris")
    await slack.wait_for(lambda: bool(slack.calls_to("chat.startStream")), 10)
    [streaming] = slack.bot_messages("C1", question["ts"])
    slack.press_stop("C1", streaming["ts"])
    await bot.settled(timeout=10)

    [answer] = slack.bot_messages("C1", question["ts"])  # no second message, no note
    assert SLOW_ANSWER.startswith(answer["text"]) and len(answer["text"]) < len(SLOW_ANSWER)
    assert [r.error for r in slack.refusals] == ["stopped_by_user"]  # told once, never asked again

    model.stream_chunk_delay = 0.0
    await say(bot, slack, "C1", ALICE, "why did you stop?", thread_ts=question["ts"])
    answers = await slack.wait_for_bot_messages("C1", question["ts"], 2)
    assert answers[-1]["text"].endswith("why did you stop?")
    assert model.requests[-1].previous_response_id == model.requests[0].response_id  # the memory went on


async def test_a_stream_slack_ends_on_its_own_goes_on_in_a_new_message(bot, slack, model):
    model.reply_with(SLOW_ANSWER)
    model.stream_chunks, model.stream_chunk_delay = 8, 0.3

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> tell me about Paris")
    await slack.wait_for(lambda: bool(slack.calls_to("chat.startStream")), 10)
    slack.end_stream("C1", slack.bot_messages("C1", question["ts"])[0]["ts"])

    await bot.settled(timeout=10)
    answers = slack.bot_messages("C1", question["ts"])
    assert len(answers) == 2
    assert "".join(m["text"] for m in answers) == SLOW_ANSWER  # nothing lost, nothing twice
