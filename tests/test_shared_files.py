"""People share screenshots, PDFs, logs and snippets: the model sees each file once, and remembers it."""

from __future__ import annotations

import logging
from typing import Any

from conftest import ALICE, BOB
from fakes.openai import FakeOpenAI
from fakes.slack import FakeSlack
from harness import BOT_TOKEN, BotUnderTest, say

MB = 1024 * 1024


def png(seed: str) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + seed.encode() * 20  # the fake checks the type, not the pixels


def screenshot(slack: FakeSlack, seed: str = "error dialog", **extra: Any) -> dict[str, Any]:
    return slack.files.add(
        "screenshot.png", png(seed), mimetype="image/png", filetype="png", pretty_type="PNG", **extra
    )


async def share(
    bot: BotUnderTest,
    slack: FakeSlack,
    channel: str,
    user: str,
    text: str,
    files: list[dict[str, Any]],
    *,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """A person uploads files with a message; Slack sends a `file_share` message (and app_mention if mentioned)."""
    event = slack.post_user_message(channel, user, text, thread_ts=thread_ts, files=files)
    await bot.send_event(event)
    if "<@UBOT>" in text:
        await bot.mention(event)
    return event


def user_parts(model: FakeOpenAI) -> list[dict[str, Any]]:
    """The content parts of the last user item the model was sent."""
    [*_, last] = [i for i in model.last_request.body["input"] if i.get("role") == "user"]
    content = last["content"]
    return [{"type": "input_text", "text": content}] if isinstance(content, str) else content


def user_text(model: FakeOpenAI) -> str:
    return "\n".join(p["text"] for p in user_parts(model) if p["type"] == "input_text")


async def test_an_image_in_a_new_mention_is_seen_by_the_model_once(bot, slack, model):
    image = screenshot(slack)

    question = await share(bot, slack, "C1", ALICE, "<@UBOT> what's wrong in this screenshot?", [image])

    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1)
    seen = slack.files.hash_of(png("error dialog"))
    assert answer["text"].endswith(f"[files seen: {seen}]")
    assert model.last_request.files_sent == [seen]
    image_part = next(p for p in user_parts(model) if p["type"] == "input_image")
    assert image_part["image_url"].startswith("data:image/png;base64,")
    assert f"[file screenshot.png (PNG, {len(png('error dialog'))} bytes)]" in user_text(model)
    assert slack.files.downloads(image["id"]) == 1  # one download, though Slack sent the mention twice


async def test_an_image_shared_without_text_in_the_bots_thread_is_a_question(bot, slack, model):
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> our checkout page broke")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)

    await share(bot, slack, "C1", BOB, "", [screenshot(slack, "blank page")], thread_ts=question["ts"])

    _, answer = await slack.wait_for_bot_messages("C1", question["ts"], 2)
    assert model.last_request.previous_response_id is not None
    assert model.last_request.files_sent == [slack.files.hash_of(png("blank page"))]
    assert "Hi! Ask me anything" not in answer["text"]


async def test_a_pdf_is_read_by_the_model_as_a_file(bot, slack, model):
    spec = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    pdf = slack.files.add("spec.pdf", spec, mimetype="application/pdf", filetype="pdf", pretty_type="PDF")

    await share(bot, slack, "D1", ALICE, "summarise this spec", [pdf])

    await slack.wait_for_bot_messages("D1", None, 1)
    [file_part] = [p for p in user_parts(model) if p["type"] == "input_file"]
    assert file_part["filename"] == "spec.pdf"
    assert file_part["file_data"].startswith("data:application/pdf;base64,")
    assert model.last_request.files_sent == [slack.files.hash_of(spec)]


async def test_a_code_snippet_and_a_log_are_read_as_text_named_by_their_file_names(bot, slack, model):
    code = b"def deploy(service):\n    return relay(service)\n"
    snippet = slack.files.add(
        "deploy.py", code, mimetype="text/plain", filetype="python", pretty_type="Python", mode="snippet"
    )
    log = slack.files.add(
        "app.log", b"ERROR db timeout\n", mimetype="text/plain", filetype="text", pretty_type="Plain Text"
    )

    question = await share(bot, slack, "C1", ALICE, "<@UBOT> why does this fail?", [snippet, log])

    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    text = user_text(model)
    assert f"[file deploy.py (Python, {len(code)} bytes)]\n```\n{code.decode()}\n```" in text
    assert "[file app.log (Plain Text, 17 bytes)]\n```\nERROR db timeout\n\n```" in text
    assert model.last_request.files_sent == []  # text travels as text


async def test_files_over_the_size_limit_are_named_and_never_held_in_memory(start_bot, slack, model):
    bot = await start_bot(max_file_mb=1)
    honest = slack.files.add(
        "dump.png", png("big") * 10, mimetype="image/png", filetype="png", pretty_type="PNG", size=3 * MB
    )
    # Slack's `size` said small, the bytes are not: the download stops at the limit.
    liar = slack.files.add(
        "huge.log", b"x" * (MB + 10), mimetype="text/plain", filetype="text", pretty_type="Plain Text", size=100
    )

    question = await share(bot, slack, "C1", ALICE, "<@UBOT> look at these", [honest, liar])

    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1)
    text = user_text(model)
    assert "[file dump.png (PNG, 3.0 MB) not readable: larger than the 1 MB limit]" in text
    assert "[file huge.log (Plain Text, 100 bytes) not readable: larger than the 1 MB limit]" in text
    assert slack.files.downloads(honest["id"]) == 0
    assert model.last_request.files_sent == []
    assert answer["text"].startswith("Reply")


async def test_a_download_that_fails_is_named_and_the_turn_still_runs(bot, slack, model):
    gone = screenshot(slack, "gone")
    busy = screenshot(slack, "busy")
    slack.files.fail_download_next(gone["id"], 404)
    slack.files.fail_download_next(busy["id"], 429, headers={"Retry-After": "0"})  # read on the retry
    archive = slack.files.add("logs.zip", b"PK\x03\x04", mimetype="application/zip", filetype="zip", pretty_type="Zip")

    question = await share(bot, slack, "C1", ALICE, "<@UBOT> what happened?", [gone, busy, archive])

    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1)
    text = user_text(model)
    assert f"[file screenshot.png (PNG, {len(png('gone'))} bytes) not readable: Slack says it no longer exists]" in text
    assert "[file logs.zip (Zip, 4 bytes) not readable: the bot reads images, PDFs, text and code files only]" in text
    assert model.last_request.files_sent == [slack.files.hash_of(png("busy"))]
    assert answer["text"].startswith("Reply")


async def test_without_access_to_files_the_bot_says_so_instead_of_reading_a_sign_in_page(bot, slack, model, caplog):
    caplog.set_level(logging.INFO)
    slack.files.token = "xoxb-another-token"  # what Slack does when the token lacks files:read
    image = screenshot(slack)

    question = await share(bot, slack, "C1", ALICE, "<@UBOT> see this?", [image])

    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert slack.files.refused == [image["id"]]
    assert "not readable: Slack would not let the bot download it]" in user_text(model)
    assert model.last_request.files_sent == []
    [warning] = [r.getMessage() for r in caplog.records if "sign-in page" in r.getMessage()]
    assert "files:read" in warning  # the admin learns what to fix, and neither the link nor the token is logged
    assert all(image["url_private_download"] not in r.getMessage() for r in caplog.records)
    assert all(BOT_TOKEN not in r.getMessage() for r in caplog.records)


async def test_a_slack_connect_file_is_looked_up_before_it_is_read(bot, slack, model):
    image = screenshot(slack, "partner")
    event = slack.post_user_message("C1", ALICE, "<@UBOT> from our partner", files=[image])
    event["files"] = [{"id": image["id"], "file_access": "check_file_info"}]  # all the event says

    await bot.send_event(event)

    await slack.wait_for_bot_messages("C1", event["ts"], 1)
    assert [c.args["file"] for c in slack.calls_to("files.info")] == [image["id"]]
    assert model.last_request.files_sent == [slack.files.hash_of(png("partner"))]


async def test_a_slack_connect_file_met_in_the_thread_s_history_is_looked_up_too(bot, slack, model):
    # Slack documents whole file objects in history; a stub there (file_access: check_file_info, all an event
    # from a Slack Connect partner carries) is still looked up with files.info rather than called unreadable.
    image = screenshot(slack, "partner's chart")
    stub = {"id": image["id"], "file_access": "check_file_info"}
    root = slack.post_user_message("C1", BOB, "here is our chart", files=[stub])

    await say(bot, slack, "C1", ALICE, "<@UBOT> what does it show?", thread_ts=root["ts"])

    await slack.wait_for_bot_messages("C1", root["ts"], 1)
    assert [c.args["file"] for c in slack.calls_to("files.info")] == [image["id"]]
    assert model.last_request.files_sent == [slack.files.hash_of(png("partner's chart"))]


async def test_an_image_is_remembered_on_the_next_turn_without_being_sent_again(bot, slack, model):
    image = screenshot(slack)
    question = await share(bot, slack, "C1", ALICE, "<@UBOT> what's wrong here?", [image])
    await slack.wait_for_bot_messages("C1", question["ts"], 1)

    await say(bot, slack, "C1", ALICE, "and the second line?", thread_ts=question["ts"])

    _, answer = await slack.wait_for_bot_messages("C1", question["ts"], 2)
    seen = slack.files.hash_of(png("error dialog"))
    assert model.last_request.previous_response_id is not None
    assert model.last_request.files_sent == []
    assert model.last_request.files_seen == [seen]
    assert answer["text"].endswith(f"[files seen: {seen}]")
    assert slack.files.downloads(image["id"]) == 1


async def test_an_image_from_before_an_expired_memory_comes_back_with_the_rebuild(bot, slack, model):
    image = screenshot(slack)
    question = await share(bot, slack, "C1", ALICE, "<@UBOT> what's wrong here?", [image])
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    model.forget_all()  # OpenAI's 30 days have passed

    await say(bot, slack, "C1", BOB, "is it fixed now?", thread_ts=question["ts"])

    await slack.wait_for_bot_messages("C1", question["ts"], 2)
    sent = model.last_request
    assert sent.previous_response_id is None
    assert sent.files_sent == [slack.files.hash_of(png("error dialog"))]
    assert "alice (<@UALICE>): what's wrong here?" in sent.input_texts[0][1]


async def test_a_rebuild_sends_only_the_newest_images_again_and_names_the_older(start_bot, slack, model):
    bot = await start_bot(history_max_images=1)
    first = await share(bot, slack, "C1", ALICE, "<@UBOT> before", [screenshot(slack, "before")])
    await slack.wait_for_bot_messages("C1", first["ts"], 1)
    await share(bot, slack, "C1", ALICE, "after", [screenshot(slack, "after")], thread_ts=first["ts"])
    await slack.wait_for_bot_messages("C1", first["ts"], 2)
    model.forget_all()

    await say(bot, slack, "C1", ALICE, "which one is better?", thread_ts=first["ts"])

    await slack.wait_for_bot_messages("C1", first["ts"], 3)
    assert model.last_request.files_sent == [slack.files.hash_of(png("after"))]
    note = "not readable: only the newest 1 images and PDFs are sent again]"
    assert note in " ".join(text for _role, text in model.last_request.input_texts)


async def test_a_reset_thread_does_not_send_its_image_again(bot, slack, model):
    image = screenshot(slack, "secret diagram")
    question = await share(bot, slack, "C1", ALICE, "<@UBOT> remember this", [image])
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    await say(bot, slack, "C1", ALICE, "<@UBOT> reset", thread_ts=question["ts"])
    await slack.wait_for(lambda: len(slack.ephemerals) == 1)

    await say(bot, slack, "C1", ALICE, "what did I show you?", thread_ts=question["ts"])

    await slack.wait_for_bot_messages("C1", question["ts"], 2)
    assert model.last_request.files_seen == []
    assert slack.files.downloads(image["id"]) == 1


async def test_big_images_are_uploaded_once_and_never_where_uploads_are_off(start_bot, slack, model):
    bot = await start_bot(file_inline_max_bytes=50)
    question = await share(bot, slack, "C1", ALICE, "<@UBOT> big one", [screenshot(slack, "big")])
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    [upload] = model.files.uploads.values()
    assert (upload.purpose, upload.filename, upload.expires_after_seconds) == ("user_data", "screenshot.png", 2592000)
    assert next(p for p in user_parts(model) if p["type"] == "input_image")["file_id"] == upload.id
    assert model.last_request.files_sent == [slack.files.hash_of(png("big"))]

    zero_retention = await start_bot(file_inline_max_bytes=50, file_uploads=False)
    question = await share(zero_retention, slack, "C2", ALICE, "<@UBOT> big one", [screenshot(slack, "kept")])
    await slack.wait_for_bot_messages("C2", question["ts"], 1)
    assert len(model.files.uploads) == 1
    assert next(p for p in user_parts(model) if p["type"] == "input_image")["image_url"].startswith("data:image/png")


async def test_a_screenshot_alone_starts_a_chat_in_the_assistant_pane_titled_by_its_name(bot, slack, model):
    root = slack.post_user_message("D1", ALICE, "New chat", subtype="assistant_app_thread")
    thread = {"user_id": ALICE, "channel_id": "D1", "thread_ts": root["ts"], "context": {}}
    await bot.send_event({"type": "assistant_thread_started", "assistant_thread": thread, "event_ts": root["ts"]})
    await slack.wait_for_bot_messages("D1", root["ts"], 1)

    await share(bot, slack, "D1", ALICE, "", [screenshot(slack, "pane")], thread_ts=root["ts"])

    await slack.wait_for_bot_messages("D1", root["ts"], 2)
    assert model.last_request.files_sent == [slack.files.hash_of(png("pane"))]
    assert [t["title"] for t in slack.titles] == ["screenshot.png"]


async def test_files_the_bot_may_not_open_are_named_without_a_download(bot, slack, model):
    drive = slack.files.add(
        "plan.gdoc",
        b"",
        mimetype="application/vnd.google-apps.document",
        filetype="gdoc",
        pretty_type="Google Doc",
        mode="external",
        size=0,
    )
    connect = screenshot(slack, "partner", file_access="access_denied")
    video = slack.files.add("demo.mp4", b"\x00" * 64, mimetype="video/mp4", filetype="mp4", pretty_type="MPEG 4 Video")

    question = await share(bot, slack, "C1", ALICE, "<@UBOT> thoughts?", [drive, connect, video])

    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    text = user_text(model)
    assert "[file plan.gdoc (Google Doc, 0 bytes) not readable: it is stored outside Slack" in text
    assert f"screenshot.png (PNG, {len(png('partner'))} bytes) not readable: the bot has no access to it]" in text
    assert "[file demo.mp4 (MPEG 4 Video, 64 bytes) not readable: the bot reads images, PDFs" in text
    assert sum(slack.files.downloads(f["id"]) for f in (drive, connect, video)) == 0
