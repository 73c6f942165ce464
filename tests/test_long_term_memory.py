"""Long-term memory: notes the bot keeps about a person or a channel, used across conversations where they belong,
that each person can see and delete. The same stories in every memory mode and on a Redis Cluster."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import ALICE, BOB, MEMORY_MODES
from fakes.openai_tools import CallTool
from fakes.slack_home_clicks import click
from harness import say

from bot.slack.notes_home import DELETE_NOTE, FORGET_ME, OFF, TITLE

DM = "D1"
FRENCH = "prefers answers in French"
FRIDAYS = "deploys freeze on Fridays"

# Every memory mode on one Redis, and the default mode on a Redis Cluster.
WHERE = [*[(mode, "redis") for mode in MEMORY_MODES], ("responses", "cluster")]


@pytest.fixture(params=WHERE, ids=[f"{mode}-{redis}" for mode, redis in WHERE])
def memory_mode(request: pytest.FixtureRequest) -> str:
    return str(request.param[0])


@pytest.fixture
def redis_url(request: pytest.FixtureRequest, redis_url: str) -> str:
    """The session's Redis, or the cluster for the cluster variant."""
    param = getattr(request.node, "callspec", None) and request.node.callspec.params.get("memory_mode")
    on_cluster = isinstance(param, tuple) and param[1] == "cluster"
    return request.getfixturevalue("cluster").url if on_cluster else redis_url


def remembers(note: str, about: str = "me", answer: str = "Noted.") -> list[Any]:
    """The model's next answer: it calls `remember`, then says `answer`."""
    return [CallTool("remember", {"note": note, "about": about}), answer]


def notes_sent(request: Any) -> str:
    """The notes the bot added to this turn (they come just before the person's message), or ""."""
    if len(request.context) < 2:
        return ""
    role, text = request.context[-2]
    return text if role == "user" and text.startswith("Long-term notes") else ""


def known_in(request: Any) -> str:
    """Everything the model had in front of it for a request: the chain and the request."""
    return "\n".join(text for _role, text in request.context)


async def ask(bot, slack, channel: str, user: str, text: str, *, thread_ts: str | None = None, n: int = 1) -> dict:
    """`user` says `text`; the bot's `n`th answer there, once everything is remembered."""
    if not channel.startswith("D") and thread_ts is None:
        text = f"<@UBOT> {text}"
    message = await say(bot, slack, channel, user, text, thread_ts=thread_ts)
    where = thread_ts or (None if channel.startswith("D") else message["ts"])
    answers = await slack.wait_for_bot_messages(channel, where, n)
    await bot.settled()
    return {"message": message, "answer": answers[-1], "thread": where}


async def open_pane(bot, slack) -> str:
    root = slack.post_user_message(DM, ALICE, "New chat", subtype="assistant_app_thread")
    event = {
        "type": "assistant_thread_started",
        "assistant_thread": {"user_id": ALICE, "channel_id": DM, "thread_ts": root["ts"], "context": {}},
        "event_ts": root["ts"],
    }
    await bot.send_event(event)
    await slack.wait_for_bot_messages(DM, root["ts"], 1)  # the greeting
    return str(root["ts"])


async def open_home(bot, slack, user: str) -> dict:
    slack.home_views.pop(user, None)
    await bot.send_event({"type": "app_home_opened", "user": user, "tab": "home", "event_ts": "1.000001"})
    await slack.wait_for(lambda: user in slack.home_views)
    return slack.home_views[user]


def home_texts(view: dict) -> str:
    return "\n".join(str((b.get("text") or {}).get("text", "")) for b in view["blocks"])


# The stories -------------------------------------------------------------------------------------------


async def test_a_note_saved_in_a_dm_is_known_in_new_dm_chats_but_never_in_a_channel(start_bot, slack, model):
    bot = await start_bot()
    model.reply_with(*remembers(FRENCH))
    saved = await ask(bot, slack, DM, ALICE, "from now on, reply en français please")
    assert saved["answer"]["text"].endswith(f"Memory updated: {FRENCH}")  # said by the bot, not the model

    chat = await open_pane(bot, slack)
    await ask(bot, slack, DM, ALICE, "what's a good name for a cat?", thread_ts=chat, n=2)
    assert FRENCH in notes_sent(model.last_request)  # a new conversation meets Alice: her notes come with her message

    root = slack.post_user_message(DM, ALICE, "another topic")
    await bot.send_event(root)
    await slack.wait_for_bot_messages(DM, None, 2)
    await ask(bot, slack, DM, ALICE, "more on it", thread_ts=root["ts"])
    assert FRENCH in known_in(model.last_request)

    await ask(bot, slack, "C1", ALICE, "what's a good name for a dog?")
    assert FRENCH not in known_in(model.last_request)  # saved in private, used only in private


async def test_a_personal_note_saved_in_a_channel_follows_the_person_to_their_next_threads(start_bot, slack, model):
    bot = await start_bot()
    model.reply_with(*remembers("works on the payments team"))
    first = await ask(bot, slack, "C1", ALICE, "remember that I'm on the payments team")
    assert first["answer"]["text"].endswith("Memory updated: works on the payments team")

    await ask(bot, slack, "C1", ALICE, "which team should review this?")
    assert "works on the payments team" in notes_sent(model.last_request)
    await ask(bot, slack, "C2", ALICE, "and here?")
    assert "works on the payments team" in notes_sent(model.last_request)
    await ask(bot, slack, DM, ALICE, "and in private?")
    assert "works on the payments team" in notes_sent(model.last_request)

    await ask(bot, slack, "C1", BOB, "which team am I on?")
    assert "payments" not in known_in(model.last_request)  # Alice's notes reach the model only where she speaks


async def test_a_channel_note_is_known_to_everyone_in_that_channel_and_nowhere_else(start_bot, slack, model):
    bot = await start_bot()
    model.reply_with(*remembers(FRIDAYS, about="channel"))
    saved = await ask(bot, slack, "C1", ALICE, "remember for this channel: deploys freeze on Fridays")
    assert saved["answer"]["text"].endswith(f"Channel memory updated: {FRIDAYS}")

    await ask(bot, slack, "C1", BOB, "can I deploy today?")
    assert FRIDAYS in notes_sent(model.last_request)
    await ask(bot, slack, "C2", BOB, "can I deploy here?")
    assert FRIDAYS not in known_in(model.last_request)
    await ask(bot, slack, DM, ALICE, "can I deploy?")
    assert FRIDAYS not in known_in(model.last_request)


async def test_notes_are_sent_once_per_conversation_and_once_per_change(start_bot, slack, model, memory_mode):
    bot = await start_bot()
    model.reply_with(*remembers(FRENCH))
    await ask(bot, slack, DM, ALICE, "answer in French from now on")
    model.reply_with(*remembers("works on payments"))
    await ask(bot, slack, "C1", ALICE, "remember I work on payments")

    thread = (await ask(bot, slack, "C1", ALICE, "first question"))["thread"]
    first = notes_sent(model.last_request)
    assert "works on payments" in first and FRENCH not in first  # the DM's note stays in DMs
    await ask(bot, slack, "C1", ALICE, "second question", thread_ts=thread, n=2)
    assert notes_sent(model.last_request) == ""  # nothing re-sent
    if memory_mode != "local":  # the chain holds the rest: the request is the message alone
        assert model.last_request.input_texts == [("user", "alice (<@UALICE>): second question")]

    model.reply_with(*remembers("likes short answers"))
    await ask(bot, slack, "C2", ALICE, "remember I like short answers")  # a change made elsewhere
    await ask(bot, slack, "C1", ALICE, "third question", thread_ts=thread, n=3)
    changed = model.last_request
    assert "Long-term notes changed" in notes_sent(changed) and "likes short answers" in notes_sent(changed)
    assert "works on payments" not in notes_sent(changed)  # only the change
    await ask(bot, slack, "C1", ALICE, "fourth question", thread_ts=thread, n=4)
    assert notes_sent(model.last_request) == ""

    model.reply_with(*remembers("likes tea"))
    await ask(bot, slack, "C1", ALICE, "remember I like tea", thread_ts=thread, n=5)
    await ask(bot, slack, "C1", ALICE, "fifth question", thread_ts=thread, n=6)
    assert notes_sent(model.last_request) == ""  # the conversation holds the tool call
    # The instructions never carry notes: the cached prefix stays byte-identical.
    assert len({r.instructions for r in model.requests if "C1" in (r.instructions or "")}) == 1


async def test_a_note_deleted_on_the_home_tab_is_never_sent_again(start_bot, slack, model):
    bot = await start_bot()
    model.reply_with(*remembers(FRENCH))
    await ask(bot, slack, DM, ALICE, "answer in French from now on")
    thread = (await ask(bot, slack, "C1", ALICE, "hello"))["thread"]
    view = await open_home(bot, slack, ALICE)
    assert TITLE in home_texts(view)
    assert FRENCH in home_texts(view)

    [delete] = [b["accessory"] for b in view["blocks"] if (b.get("accessory") or {}).get("action_id") == DELETE_NOTE]
    assert await click(bot, slack, ALICE, DELETE_NOTE, value=delete["value"]) == 200
    await republished(slack, ALICE, view)
    assert FRENCH not in home_texts(slack.home_views[ALICE])  # the tab is published again without it

    for channel, where in ((DM, None), ("C1", thread)):
        await ask(bot, slack, channel, ALICE, "anything else?", thread_ts=where, n=2)
        assert FRENCH not in notes_sent(model.last_request)
    pane = await open_pane(bot, slack)
    await ask(bot, slack, DM, ALICE, "new chat", thread_ts=pane, n=2)
    assert FRENCH not in known_in(model.last_request)


async def test_forget_and_forget_everything_remove_notes_for_good(start_bot, slack, model):
    bot = await start_bot()
    model.reply_with(*remembers(FRENCH))
    await ask(bot, slack, DM, ALICE, "answer in French from now on")
    note_id = next(iter(await notes_of(bot, ALICE)))
    model.reply_with(CallTool("forget", {"note_id": note_id}), "Forgotten.")
    answer = await ask(bot, slack, DM, ALICE, "forget that", n=2)
    assert answer["answer"]["text"].endswith(f"Memory updated: forgot “{FRENCH}”")
    await ask(bot, slack, DM, ALICE, "hello again", n=3)
    assert FRENCH not in notes_sent(model.last_request)

    model.reply_with(*remembers("has a cat called Tom"))
    await ask(bot, slack, "C1", ALICE, "remember I have a cat called Tom")
    view = await open_home(bot, slack, ALICE)
    assert await click(bot, slack, ALICE, FORGET_ME) is None  # the confirmation dialog, declined: nothing sent
    assert await notes_of(bot, ALICE)
    assert await click(bot, slack, ALICE, FORGET_ME, confirmed=True) == 200
    await republished(slack, ALICE, view)
    assert await notes_of(bot, ALICE) == {}
    await ask(bot, slack, "C2", ALICE, "what pets do I have?")
    assert "Tom" not in known_in(model.last_request)


async def test_the_model_cannot_write_a_note_about_someone_else(start_bot, slack, model):
    bot = await start_bot()
    thread = (await ask(bot, slack, "C1", ALICE, "hi, I'm Alice"))["thread"]
    tools = {t["name"]: t for t in model.last_request.body["tools"]}
    assert set(tools["remember"]["parameters"]["properties"]) == {"note", "about"}  # no person to name
    assert tools["remember"]["parameters"]["properties"]["about"]["enum"] == ["me", "channel"]
    assert set(tools["forget"]["parameters"]["properties"]) == {"note_id"}

    model.reply_with(*remembers("Alice hates meetings"))  # Bob talks about Alice: it can only land on Bob
    await ask(bot, slack, "C1", BOB, "remember that Alice hates meetings", thread_ts=thread, n=2)
    assert await notes_of(bot, ALICE) == {}
    assert list((await notes_of(bot, BOB)).values()) == ["Alice hates meetings"]


@pytest.mark.parametrize("memory_mode", ["responses"])
async def test_anyone_in_the_channel_may_forget_a_channel_note_and_a_dm_has_no_channel_notes(start_bot, slack, model):
    bot = await start_bot()
    model.reply_with(*remembers(FRIDAYS, about="channel"))
    await ask(bot, slack, "C1", ALICE, "remember for this channel: deploys freeze on Fridays")
    channel_notes = await bot.bot.notes.read(bot.bot.notes.channel_key(bot.team_id, "C1"))
    [note] = channel_notes.notes

    model.reply_with(CallTool("forget", {"note_id": note.id}), "Done.")
    forgot = await ask(bot, slack, "C1", BOB, "forget the Friday freeze")
    assert forgot["answer"]["text"].endswith(f"Channel memory updated: forgot “{FRIDAYS}”")
    await ask(bot, slack, "C1", ALICE, "can I deploy on Friday?")
    assert FRIDAYS not in known_in(model.last_request)

    model.reply_with(
        *remembers("the team is remote", about="channel"),
    )
    refused = await ask(bot, slack, DM, ALICE, "remember for this channel: the team is remote")
    assert "emory updated" not in refused["answer"]["text"]  # neither "Memory updated" nor "Channel memory updated"
    role, output = model.last_request.input_texts[-1]
    assert role == "function_call_output" and 'about="me"' in output  # the model is told to save it as hers
    assert (await bot.bot.notes.read(bot.bot.notes.channel_key(bot.team_id, DM))).notes == ()


async def test_what_do_you_remember_about_me_lists_only_the_notes_usable_there(start_bot, slack, model):
    bot = await start_bot()
    model.reply_with(*remembers(FRENCH))
    await ask(bot, slack, DM, ALICE, "answer in French from now on")
    model.reply_with(*remembers("works on payments"))
    await ask(bot, slack, "C1", ALICE, "remember I work on payments")

    def listed(request) -> str:
        role, output = request.input_texts[-1]
        assert role == "function_call_output"
        return f"Here is what I remember: {output}"

    model.reply_with(CallTool("list_notes", {}), listed)
    in_dm = await ask(bot, slack, DM, ALICE, "what do you remember about me?", n=2)
    assert FRENCH in in_dm["answer"]["text"] and "works on payments" in in_dm["answer"]["text"]
    model.reply_with(CallTool("list_notes", {}), listed)
    in_channel = await ask(bot, slack, "C2", ALICE, "what do you remember about me?")
    assert "works on payments" in in_channel["answer"]["text"]
    assert FRENCH not in in_channel["answer"]["text"]  # a DM's note is not shown in a channel
    assert "1 more note(s) saved in direct messages" in in_channel["answer"]["text"]


# Bounds, settings, and the person's control ----------------------------------------------------------


@pytest.mark.parametrize("memory_mode", ["responses"])
async def test_when_memory_is_full_the_person_is_told_which_note_to_drop(start_bot, slack, model):
    bot = await start_bot(memory_notes_max=2)
    for n, note in enumerate(["likes tea", "likes cake", "likes jazz"], start=1):
        model.reply_with(*remembers(note))
        answer = await ask(bot, slack, DM, ALICE, f"remember I {note[6:]}", n=n)
    assert "Memory full (2 notes): not saved. Oldest: “likes tea”" in answer["answer"]["text"]
    [asked, told] = model.requests[-2:]
    assert "Not saved" in told.input_texts[-1][1] and "likes tea" in told.input_texts[-1][1]
    assert sorted((await notes_of(bot, ALICE)).values()) == ["likes cake", "likes tea"]
    assert asked.input_texts[-1][1].endswith("remember I jazz")  # the third note was asked for, and refused


@pytest.mark.parametrize("memory_mode", ["responses"])
async def test_long_term_memory_off_means_no_tools_no_notes_and_the_home_tab_says_so(start_bot, slack, model):
    bot = await start_bot(long_term_memory=False)
    await ask(bot, slack, DM, ALICE, "remember I like tea")
    assert "tools" not in model.last_request.body or not model.last_request.body["tools"]
    view = await open_home(bot, slack, ALICE)
    assert OFF in home_texts(view)


@pytest.mark.parametrize("memory_mode", ["responses"])
async def test_resets_leave_notes_alone_and_a_deactivated_person_is_forgotten(start_bot, slack, model):
    bot = await start_bot()
    model.reply_with(*remembers(FRENCH))
    thread = (await ask(bot, slack, "C1", ALICE, "remember I prefer French"))["thread"]
    reset = await bot.command("/reset", channel_id="C1", user_id=ALICE, response_url=slack.response_url())
    assert reset.status == 200
    await say(bot, slack, "C1", ALICE, "<@UBOT> reset", thread_ts=thread)
    await slack.wait_for(lambda: len(slack.ephemerals) == 1)
    assert list((await notes_of(bot, ALICE)).values()) == [FRENCH]
    await ask(bot, slack, "C1", ALICE, "after the reset", thread_ts=thread, n=2)
    assert FRENCH in notes_sent(model.last_request)  # the rebuilt conversation gets the notes again

    deactivated = {"id": ALICE, "team_id": "T0001", "name": "alice", "deleted": True}
    event = {"type": "user_change", "user": deactivated, "cache_ts": 1, "event_ts": "2.000001"}
    assert (await bot.send_event(event)).status == 200
    for _ in range(500):  # the listener runs after the ack
        if await notes_of(bot, ALICE) == {}:
            break
        await asyncio.sleep(0.02)
    assert await notes_of(bot, ALICE) == {}


@pytest.mark.parametrize("memory_mode", ["responses"])
async def test_while_redis_is_away_turns_go_on_without_notes_and_saving_says_it_failed(
    start_bot, slack, model, redis_server
):
    bot = await start_bot(redis_url=redis_server.url)
    model.reply_with(*remembers("works on payments"))
    await ask(bot, slack, "C1", ALICE, "remember I work on payments")

    redis_server.stop(keep_data=True)
    await ask(bot, slack, "C2", ALICE, "which team am I on?")
    assert "works on payments" not in known_in(model.last_request)  # answered, without notes
    model.reply_with(*remembers("likes tea"))
    failed = await ask(bot, slack, "C3", ALICE, "remember I like tea")
    assert failed["answer"]["text"].endswith("Memory not updated: long-term memory is unavailable right now")

    redis_server.start()
    for _ in range(100):  # the bot probes Redis about once a second
        if (await bot.health())["redis"]:
            break
        await asyncio.sleep(0.1)
    await ask(bot, slack, "C4", ALICE, "and now?")
    assert "works on payments" in notes_sent(model.last_request)


# Helpers ----------------------------------------------------------------------------------------------


async def notes_of(bot, user: str) -> dict[str, str]:
    """A person's notes as Redis holds them: id -> text."""
    store = bot.bot.notes
    found = await store.read(store.person_key(bot.team_id, user))
    assert found is not None
    return {n.id: n.text for n in found.notes}


async def republished(slack, user: str, before: dict) -> None:
    """Wait for the bot to publish the person's Home tab anew."""
    await slack.wait_for(lambda: slack.home_views.get(user) is not before)
