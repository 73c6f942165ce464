import asyncio
from typing import Any

import aiohttp
import pytest
from fakes.slack import FakeSlack
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient


async def read_all_replies(client: AsyncWebClient, channel: str, ts: str) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        resp = await client.conversations_replies(channel=channel, ts=ts, cursor=cursor, limit=200)
        pages.append(resp["messages"])
        cursor = resp["response_metadata"]["next_cursor"]
        if not cursor:
            assert resp["has_more"] is False
            return pages


async def test_thread_round_trip_with_capped_pages(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.page_size_cap = 15
    root = fake.post_user_message("C1", "U1", "question")
    assert root["channel_type"] == "channel" and root["team"] == "T0001" and "thread_ts" not in root
    for i in range(20):
        reply = fake.post_user_message("C1", "U1", f"user {i}", thread_ts=root["ts"])
        await client.chat_postMessage(channel="C1", thread_ts=root["ts"], text=f"bot {i}", blocks="[]")
    assert reply["parent_user_id"] == "U1"

    pages = await read_all_replies(client, "C1", root["ts"])

    assert [len(p) for p in pages] == [15, 15, 11]
    messages = [m for p in pages for m in p]
    assert messages[0]["text"] == "question" and messages[0]["reply_count"] == 40
    assert [m["ts"] for m in messages] == sorted(m["ts"] for m in messages)
    assert len(fake.bot_messages("C1", root["ts"])) == 20
    assert fake.calls_to("chat.postMessage")[0].args["blocks"] == []


async def test_history_is_newest_first_without_replies(fake: FakeSlack, client: AsyncWebClient) -> None:
    first = fake.post_user_message("D1", "U1", "one")
    fake.post_user_message("D1", "U1", "reply", thread_ts=first["ts"])
    await client.chat_postMessage(channel="D1", text="two")

    resp = await client.conversations_history(channel="D1", limit=1)
    assert [m["text"] for m in resp["messages"]] == ["two"] and resp["has_more"]
    resp = await client.conversations_history(channel="D1", cursor=resp["response_metadata"]["next_cursor"])
    assert [m["text"] for m in resp["messages"]] == ["one"] and not resp["has_more"]
    assert first["channel_type"] == "im"


async def test_rate_limit_is_retried_by_sdk_handler(fake: FakeSlack) -> None:
    retrying = AsyncWebClient(
        token="xoxb-test",
        base_url=fake.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    fake.rate_limit_next("auth.test", retry_after=0)

    resp = await retrying.auth_test()

    assert resp["user_id"] == "UBOT"
    assert len(fake.calls_to("auth.test")) == 2

    fake.rate_limit_next("auth.test", retry_after=7)
    with pytest.raises(SlackApiError) as info:
        await AsyncWebClient(token="xoxb-test", base_url=fake.api_url).auth_test()
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "7"
    assert info.value.response["error"] == "ratelimited"


async def test_chat_stream_helper_ends_as_one_chunked_message(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.add_user("U1", "Ada Lovelace")
    root = fake.post_user_message("C1", "U1", "tell me")
    stream = await client.chat_stream(
        channel="C1", thread_ts=root["ts"], recipient_team_id="T0001", recipient_user_id="U1", buffer_size=10
    )
    parts = ["Hello ", "there, ", "this is ", "a streamed ", "answer."]
    for part in parts:
        await stream.append(markdown_text=part)
    await stream.stop()

    [message] = await fake.wait_for_bot_messages("C1", root["ts"], 1)
    assert message["text"] == "".join(parts)
    assert len(message["chunks"]) > 1 and message["streaming"] is False
    assert len(fake.calls_to("chat.appendStream")) >= 1


async def test_streaming_errors(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.add_user("U1", "Ada Lovelace")
    fake.add_user("UX", "Xavier Connect", team_id="T0OTHER")
    root = fake.post_user_message("C1", "U1", "hi")
    with pytest.raises(SlackApiError) as info:
        await client.chat_startStream(channel="C1", thread_ts=root["ts"], markdown_text="x")
    assert info.value.response["error"] == "missing_recipient_user_id"
    with pytest.raises(SlackApiError) as info:
        await client.chat_startStream(channel="C1", thread_ts=root["ts"], markdown_text="x", recipient_user_id="U1")
    assert info.value.response["error"] == "missing_recipient_team_id"
    with pytest.raises(SlackApiError) as info:  # a Slack Connect user is not in the installing workspace's team
        await client.chat_startStream(
            channel="C1", thread_ts=root["ts"], markdown_text="x", recipient_user_id="UX", recipient_team_id="T0001"
        )
    assert info.value.response["error"] == "user_not_found"
    started = await client.chat_startStream(
        channel="C1", thread_ts=root["ts"], markdown_text="x", recipient_user_id="UX", recipient_team_id="T0OTHER"
    )
    with pytest.raises(SlackApiError) as info:
        await client.chat_appendStream(channel="C1", ts=started["ts"], markdown_text="y" * 12_001)
    assert info.value.response["error"] == "invalid_arguments"
    with pytest.raises(SlackApiError) as info:
        await client.chat_update(channel="C1", ts=started["ts"], text="edited while streaming")
    assert info.value.response["error"] == "streaming_state_conflict"

    fake.streaming_error = "unknown_method"
    with pytest.raises(SlackApiError) as info:
        await client.chat_startStream(channel="D1", thread_ts=root["ts"], markdown_text="x")
    assert info.value.response["error"] == "unknown_method"
    assert [m["text"] for m in fake.bot_messages("C1", root["ts"])] == ["x"]  # only the stream that started


async def test_a_stream_keeps_the_content_mode_of_its_first_payload(fake: FakeSlack, client: AsyncWebClient) -> None:
    root = fake.post_user_message("D1", "U1", "hi")
    task = {"type": "task_update", "id": "t1", "title": "Looking", "status": "in_progress"}
    by_chunks = await client.chat_startStream(channel="D1", thread_ts=root["ts"], chunks=[task])
    by_text = await client.chat_startStream(channel="D1", thread_ts=root["ts"], markdown_text="Hello")

    refused = []
    for call in (
        client.chat_appendStream(channel="D1", ts=by_chunks["ts"], markdown_text="more"),
        client.chat_stopStream(channel="D1", ts=by_chunks["ts"], markdown_text="end"),
        client.chat_appendStream(channel="D1", ts=by_text["ts"], chunks=[task]),
        client.chat_appendStream(channel="D1", ts=by_text["ts"], markdown_text="x", chunks=[task]),
    ):
        with pytest.raises(SlackApiError) as info:
            await call
        refused.append(info.value.response["error"])
    text = {"type": "markdown_text", "text": " world"}
    await client.chat_appendStream(channel="D1", ts=by_chunks["ts"], chunks=[text])
    await client.chat_stopStream(channel="D1", ts=by_chunks["ts"], chunks=[{**text, "text": "!"}])

    assert refused == ["streaming_mode_mismatch"] * 3 + ["cannot_provide_both_markdown_text_and_chunks"]
    assert fake.messages("D1", root["ts"])[1]["text"] == " world!"
    assert [r.error for r in fake.refusals] == refused


async def test_a_stream_the_person_stopped_takes_nothing_more(fake: FakeSlack, client: AsyncWebClient) -> None:
    root = fake.post_user_message("D1", "U1", "hi")
    started = await client.chat_startStream(channel="D1", thread_ts=root["ts"], markdown_text="Hel")
    fake.press_stop("D1", started["ts"])

    for call in (
        client.chat_appendStream(channel="D1", ts=started["ts"], markdown_text="lo"),
        client.chat_stopStream(channel="D1", ts=started["ts"]),
    ):
        with pytest.raises(SlackApiError) as info:
            await call
        assert info.value.response["error"] == "stopped_by_user"
    assert [m["text"] for m in fake.bot_messages("D1", root["ts"])] == ["Hel"]


async def test_calls_outside_the_contract_are_refused_and_recorded(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.post_user_message("C1", "U1", "hi")
    outside = [
        client.api_call("chat.postMessageNow", json={"channel": "C1", "text": "x"}),  # no such method
        client.chat_postMessage(channel="C1", text="x", colour="red"),  # not an argument of the method
        client.api_call("conversations.replies", params={"channel": "C1"}),  # `ts` is required
    ]
    answers = []
    for call in outside:
        with pytest.raises(SlackApiError) as info:
            await call
        answers.append(info.value.response["error"])

    assert answers == ["unknown_method", "invalid_arguments", "invalid_arguments"]
    assert [v.method for v in fake.violations] == [
        "chat.postMessageNow",
        "chat.postMessage",
        "conversations.replies",
    ]
    with pytest.raises(ValueError, match="not a documented error"):
        fake.fail_next("users.info", "no_such_error")


async def test_message_limits(fake: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [{"type": "markdown", "text": "x" * 6001}, {"type": "markdown", "text": "y" * 6000}]
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C1", text="long", blocks=blocks)
    assert info.value.response["error"] == "msg_blocks_too_long"

    section = {"type": "section", "text": {"type": "mrkdwn", "text": "z" * 3001}}
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C1", text="long", blocks=[section])
    assert info.value.response["error"] == "invalid_blocks"

    resp = await client.chat_postMessage(channel="C1", text="a" * 40_001)
    assert len(fake.bot_messages("C1")[0]["text"]) == 40_000 and resp["ok"]

    with pytest.raises(SlackApiError) as info:  # chat.update is stricter than chat.postMessage
        await client.chat_update(channel="C1", ts=resp["ts"], text="b" * 4_001)
    assert info.value.response["error"] == "msg_too_long"
    with pytest.raises(SlackApiError) as info:
        await client.chat_update(channel="C1", ts=resp["ts"], text="short", markdown_text="**short**")
    assert info.value.response["error"] == "markdown_text_conflict"
    await client.chat_update(channel="C1", ts=resp["ts"], text="b" * 4_000)


async def test_rate_tiers_are_counted_per_method_over_a_minute(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.rate_tiers["chat.update"] = 3
    posted = await client.chat_postMessage(channel="C1", text="v0")
    for n in range(3):
        await client.chat_update(channel="C1", ts=posted["ts"], text=f"v{n + 1}")

    with pytest.raises(SlackApiError) as info:
        await client.chat_update(channel="C1", ts=posted["ts"], text="v4")

    assert info.value.response.status_code == 429
    assert 1 <= int(info.value.response.headers["Retry-After"]) <= 60
    assert [c.args["text"] for c in fake.rate_limited] == ["v4"]
    assert fake.bot_messages("C1")[0]["text"] == "v3"
    await client.chat_postMessage(channel="C1", text="other methods are not held")


async def test_a_rate_limit_can_hit_one_channel_only(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.rate_limit_next("chat.postMessage", channel="C2")

    await client.chat_postMessage(channel="C1", text="here")
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C2", text="there")
    assert info.value.response.status_code == 429


async def test_auth_knobs_and_response_url(fake: FakeSlack, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as info:
        await AsyncWebClient(base_url=fake.api_url).auth_test()
    assert info.value.response["error"] == "not_authed"

    fake.fail_next("users.info", "fatal_error")
    fake.add_user("U1", "Ada Lovelace", "ada")
    with pytest.raises(SlackApiError):
        await client.users_info(user="U1")
    resp = await client.users_info(user="U1")
    assert resp["user"]["profile"]["display_name"] == "ada"

    root = fake.post_user_message("C1", "U1", "hi")
    await client.reactions_add(channel="C1", timestamp=root["ts"], name="eyes")
    assert fake.reactions[("C1", root["ts"])] == {"eyes"}

    url = fake.response_url()
    webhook = await AsyncWebhookClient(url).send(text="only you", response_type="ephemeral")
    assert webhook.status_code == 200 and webhook.body == "ok"
    assert fake.ephemerals == [{"text": "only you", "response_type": "ephemeral"}]


async def test_socket_mode_hello_and_ack(fake: FakeSlack) -> None:
    web = AsyncWebClient(base_url=fake.api_url)
    socket = SocketModeClient(app_token="xapp-1-test", web_client=web)
    received: list[dict[str, Any]] = []

    async def on_request(client: SocketModeClient, req: SocketModeRequest) -> None:
        received.append(req.payload)
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    socket.socket_mode_request_listeners.append(on_request)
    try:
        await socket.connect()
        await asyncio.wait_for(fake.socket_connected.wait(), 2)
        await fake.socket_send({"type": "events_api", "envelope_id": "E1", "payload": {"event": {"type": "message"}}})
        await fake.wait_for(lambda: fake.socket_acks == [{"envelope_id": "E1"}])
        assert received == [{"event": {"type": "message"}}]
        assert await socket.is_connected()
    finally:
        await socket.close()


async def test_file_bytes_need_the_bot_token_and_files_info_describes_them(fake: FakeSlack, client: AsyncWebClient):
    fake.files.token = "xoxb-test"
    shared = fake.files.add("notes.txt", b"hello", mimetype="text/plain", filetype="text", pretty_type="Plain Text")
    message = fake.post_user_message("C1", "U1", "see attached", files=[shared])
    assert message["subtype"] == "file_share"
    [stored] = (await client.conversations_history(channel="C1"))["messages"]
    assert stored["files"][0]["url_private_download"] == shared["url_private_download"]

    async with aiohttp.ClientSession() as http:
        url = shared["url_private_download"]
        async with http.get(url, headers={"Authorization": "Bearer xoxb-test"}) as ok:
            assert (ok.status, ok.content_type, await ok.read()) == (200, "text/plain", b"hello")
        async with http.get(url) as sign_in:  # no token: Slack's sign-in page, with 200
            assert (sign_in.status, sign_in.content_type) == (200, "text/html")
        fake.files.delete(shared["id"])
        async with http.get(url, headers={"Authorization": "Bearer xoxb-test"}) as gone:
            assert gone.status == 404

    with pytest.raises(SlackApiError) as deleted:
        await client.files_info(file=shared["id"])
    assert deleted.value.response["error"] == "file_deleted"
    with pytest.raises(SlackApiError) as unknown:
        await client.files_info(file="F404")
    assert unknown.value.response["error"] == "file_not_found"
    assert fake.files.downloads(shared["id"]) == 1


async def test_user_groups_list_their_members_and_refuse_what_slack_refuses(fake, client):
    fake.admin.add_group("S0ENG", ["UALICE", "UBOB"])
    fake.admin.add_group("S0OLD", ["UCAROL"])
    fake.admin.disabled.add("S0OLD")

    assert (await client.usergroups_users_list(usergroup="S0ENG"))["users"] == ["UALICE", "UBOB"]
    assert (await client.usergroups_users_list(usergroup="S0OLD", include_disabled=True))["users"] == ["UCAROL"]
    for group in ("S0OLD", "S0NONE"):
        with pytest.raises(SlackApiError) as refused:
            await client.usergroups_users_list(usergroup=group)
        assert refused.value.response["error"] == "no_such_subteam"
    fake.granted_scopes.remove("usergroups:read")
    with pytest.raises(SlackApiError) as refused:
        await client.usergroups_users_list(usergroup="S0ENG")
    assert refused.value.response["error"] == "missing_scope"


async def test_users_info_says_who_administers_the_workspace(fake, client):
    fake.add_user("UALICE", "Alice")
    fake.add_user("UBOB", "Bob")
    fake.add_user("UCAROL", "Carol")
    fake.admin.admins.add("UALICE")
    fake.admin.owners.add("UBOB")

    roles = {}
    for user in ("UALICE", "UBOB", "UCAROL"):
        found = (await client.users_info(user=user))["user"]
        roles[user] = (found["is_admin"], found["is_owner"])

    assert roles == {"UALICE": (True, False), "UBOB": (True, True), "UCAROL": (False, False)}
