"""The fake Slack's Real-time Search and conversations methods answer as Slack's reference says (see the rules
cited in fakes/slack_search.py), through the real slack_sdk client."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError


async def refusal(call) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return str(caught.value.response["error"])


async def test_results_are_paged_by_cursor_with_permalinks_and_at_most_20_a_page(fake, client):
    for n in range(25):
        fake.post_user_message("CGENERAL", "UALICE", f"release notes number {n}")
    token = fake.search.action_token("UALICE")
    first = await client.assistant_search_context(query="release notes", action_token=token, limit=20)
    assert len(first["results"]["messages"]) == 20
    cursor = first["response_metadata"]["next_cursor"]
    second = await client.assistant_search_context(query="release notes", action_token=token, cursor=cursor)
    assert len(second["results"]["messages"]) == 5 and second["response_metadata"]["next_cursor"] == ""
    result = first["results"]["messages"][0]
    assert set(result) >= {"author_user_id", "channel_id", "message_ts", "content", "permalink", "is_author_bot"}
    assert result["permalink"].startswith("https://fake.slack.com/archives/CGENERAL/p")
    assert await refusal(client.assistant_search_context(query="x", action_token=token, limit=21)) == (
        "invalid_arguments"
    )
    assert await refusal(client.assistant_search_context(query="x", action_token=token, cursor="%%")) == (
        "invalid_cursor"
    )


async def test_a_bot_token_needs_an_action_token_a_query_and_the_scope(fake, client):
    token = fake.search.action_token("UALICE")
    assert await refusal(client.assistant_search_context(query="release")) == "invalid_action_token"
    assert await refusal(client.assistant_search_context(query="", action_token=token)) == "missing_query"
    fake.granted_scopes.remove("search:read.public")
    assert await refusal(client.assistant_search_context(query="release", action_token=token)) == "missing_scope"
    assert await refusal(client.assistant_search_info()) == "missing_scope"


async def test_private_types_are_refused_to_a_bot_token_and_private_channels_are_found_only_by_members(fake, client):
    fake.search.add_channel("GSECRET", "secret", kind="private_channel", members=("UALICE",))
    fake.post_user_message("GSECRET", "UALICE", "secret launch plans")
    token = fake.search.action_token("UALICE")
    for kind in ("private_channel", "im", "mpim"):
        call = client.assistant_search_context(query="launch", action_token=token, channel_types=[kind])
        assert await refusal(call) == "missing_scope"
    found = await client.assistant_search_context(query="launch", action_token=token)
    assert found["results"]["messages"] == []  # public_channel by default


async def test_conversations_info_hides_private_channels_the_bot_is_not_in(fake, client):
    fake.search.add_channel("GOUT", "out", kind="private_channel", bot_is_member=False)
    fake.search.add_channel("CPUB", "pub", bot_is_member=False)
    assert await refusal(client.conversations_info(channel="GOUT")) == "channel_not_found"
    info = await client.conversations_info(channel="CPUB")
    assert (info["channel"]["is_private"], info["channel"]["is_member"], info["channel"]["name"]) == (
        False,
        False,
        "pub",
    )
    opened = await client.conversations_open(users="UALICE")
    assert opened["channel"]["id"] == "DALICE"
    assert await refusal(client.conversations_open(users="UNOBODY")) == "user_not_found"
