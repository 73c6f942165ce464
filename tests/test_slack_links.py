"""Someone links a Slack message: the bot reads it (and its thread) when the place may show it, and otherwise
tells the model it could not, and why."""

from __future__ import annotations

from conftest import ALICE, BOB
from harness import say

from bot.model.quoting import BEGIN
from bot.slack.channels import ChannelFacts
from bot.slack.links import slack_links, why_unreadable

SECRET = "The acquisition closes on Friday; keep it quiet."


def user_parts(request) -> str:
    """Everything the person's turn sent the model, linked-message notes included."""
    [item] = [i for i in request.input_items if i.get("role") == "user"][-1:]
    content = item["content"]
    return content if isinstance(content, str) else "\n".join(p.get("text", "") for p in content)


async def test_a_linked_public_thread_is_read_with_its_replies(start_bot, slack, model):
    slack.search.add_channel("CDESIGN", "design")
    root = slack.post_user_message("CDESIGN", BOB, "Proposal: rounded corners everywhere.")
    slack.post_user_message("CDESIGN", ALICE, "Agreed, ship it Tuesday.", thread_ts=root["ts"])
    bot = await start_bot()
    link = slack.search.permalink("CDESIGN", root["ts"])

    question = await say(bot, slack, "C1", ALICE, f"<@UBOT> what was decided here? <{link}>")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)

    sent = user_parts(model.last_request)
    quoted = sent.split(BEGIN)[1]
    assert "#design · bob" in quoted and "Proposal: rounded corners everywhere." in quoted
    assert "alice" in quoted and "Agreed, ship it Tuesday." in quoted
    assert "its thread (1 replies)" in sent


async def test_a_linked_message_from_a_private_channel_the_bot_is_not_in_is_named_as_unreadable(
    start_bot, slack, model
):
    slack.search.add_channel("GBOARD", "board", kind="private_channel", members=(ALICE,), bot_is_member=False)
    secret = slack.post_user_message("GBOARD", ALICE, SECRET)
    bot = await start_bot()
    link = slack.search.permalink("GBOARD", secret["ts"])

    question = await say(bot, slack, "C1", ALICE, f"<@UBOT> summarise <{link}|this> for the team")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)

    sent = user_parts(model.last_request)
    assert f"The Slack link {link} could not be read: it is in a private conversation" in sent
    assert SECRET not in sent
    assert not slack.calls_to("conversations.replies") or all(
        c.args.get("channel") != "GBOARD" for c in slack.calls_to("conversations.replies")
    )


async def test_a_private_channel_the_bot_is_in_is_not_quoted_into_another_channel(start_bot, slack, model):
    slack.search.add_channel("GBOARD", "board", kind="private_channel", members=(ALICE,), bot_is_member=True)
    secret = slack.post_user_message("GBOARD", ALICE, SECRET)
    bot = await start_bot()
    link = slack.search.permalink("GBOARD", secret["ts"])

    question = await say(bot, slack, "C1", ALICE, f"<@UBOT> what does <{link}> say?")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)

    sent = user_parts(model.last_request)
    assert f"The Slack link {link} could not be read: it is in a private conversation" in sent
    assert SECRET not in sent

    # In that private channel itself, the same link is read.
    question = await say(bot, slack, "GBOARD", ALICE, f"<@UBOT> what does <{link}> say?")
    await slack.wait_for_bot_messages("GBOARD", question["ts"], 1)
    assert SECRET in user_parts(model.last_request)


async def test_a_public_channel_the_bot_is_not_in_is_named_with_how_to_fix_it(start_bot, slack, model):
    slack.search.add_channel("CRANDOM", "random", bot_is_member=False)
    note = slack.post_user_message("CRANDOM", BOB, "Lunch at noon.")
    bot = await start_bot()
    link = slack.search.permalink("CRANDOM", note["ts"])
    question = await say(bot, slack, "C1", ALICE, f"<@UBOT> see <{link}>")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert "the bot is not a member of #random; invite it there" in user_parts(model.last_request)


def test_links_are_parsed_with_their_thread():
    text = (
        "see <https://acme.slack.com/archives/C0123ABC/p1712345678123456?thread_ts=1712345000.000100&amp;cid=C0123ABC|"
        "this> and https://acme.slack.com/archives/C0123ABC/p1712345678123456 again"
    )
    [link] = slack_links(text)
    assert (link.channel_id, link.ts, link.thread_ts) == ("C0123ABC", "1712345678.123456", "1712345000.000100")
    assert link.permalink("1712345000.000100") == "https://acme.slack.com/archives/C0123ABC/p1712345000000100"
    assert slack_links("no links at https://example.com/archives/C1/p1") == []


def test_the_current_channel_is_always_readable_and_others_only_when_public_and_joined():
    [link] = slack_links("https://acme.slack.com/archives/G0SECRET/p1712345678123456")
    assert why_unreadable(link.channel_id, None, readable_channels=frozenset({"G0SECRET"})) == ""
    private = ChannelFacts("G0SECRET", "secret", "private_channel", is_member=True)
    assert "private conversation" in why_unreadable(link.channel_id, private, readable_channels=frozenset({"C1"}))
    public = ChannelFacts("G0SECRET", "general", "public_channel", is_member=True)
    assert why_unreadable(link.channel_id, public, readable_channels=frozenset({"C1"})) == ""
