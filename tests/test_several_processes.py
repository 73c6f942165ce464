"""Several bot processes behind one load balancer behave exactly like one."""

from __future__ import annotations

import asyncio

from conftest import ALICE, BOB


async def test_one_threads_events_spread_over_two_processes_get_one_answer_each_on_one_chain(start_bot, slack, model):
    first, second = await start_bot(), await start_bot()
    root = slack.post_user_message("C1", ALICE, "<@UBOT> let's count animals")
    thread = root["ts"]
    model.hold_next()  # the first answer takes a while, so the follow-ups pile up on both processes
    await first.send_event(root, event_id="EvROOT")
    await second.mention(root)
    await slack.wait_for(lambda: model.waiting == 1)

    follow_ups = []
    for n, animal in enumerate(["cat", "dog", "owl", "fox", "elk", "bee"]):
        author = ALICE if n % 2 else BOB
        message = slack.post_user_message("C1", author, f"one {animal}", thread_ts=thread)
        follow_ups.append(message)
        receiver, other = (first, second) if n % 2 else (second, first)
        await receiver.send_event(message, event_id=f"Ev{n}")
        await other.send_event(message, event_id=f"Ev{n}", retry_num=1)  # Slack retried it elsewhere
    await first.send_event(root, event_id="EvROOT", retry_num=2)
    model.release()

    answers = await slack.wait_for_bot_messages("C1", thread, 7)
    await asyncio.sleep(0.3)
    assert len(slack.bot_messages("C1", thread)) == 7  # one per message, none twice
    assert [a["text"].rsplit(": ", 1)[1] for a in answers] == [
        "let's count animals",
        *(m["text"] for m in follow_ups),
    ]
    assert len(model.requests) == 7
    for earlier, later in zip(model.requests, model.requests[1:], strict=False):
        assert later.previous_response_id == earlier.response_id  # one unforked chain
    context = model.full_context_of(model.requests[-1].response_id)
    said = [text.rsplit(": ", 1)[1] for role, text in context if role == "user"]
    assert said == ["let's count animals", *(m["text"] for m in follow_ups)]  # the last answer knew them all


async def test_two_processes_answer_two_threads_at_the_same_time(start_bot, slack, model):
    first, second = await start_bot(), await start_bot()
    model.hold_next()
    slow = slack.post_user_message("C1", ALICE, "<@UBOT> slow one")
    await first.send_event(slow)
    await slack.wait_for(lambda: model.waiting == 1)

    quick = slack.post_user_message("C1", BOB, "<@UBOT> quick one")
    await second.send_event(quick)

    await slack.wait_for_bot_messages("C1", quick["ts"], 1)
    assert slack.bot_messages("C1", slow["ts"]) == []
    model.release()
    await slack.wait_for_bot_messages("C1", slow["ts"], 1)
