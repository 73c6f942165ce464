"""Images and PDFs within OpenAI's limits: an image over 20 MB is named, files that add up past one request's limit
leave the oldest out with a note, and a file OpenAI no longer has makes the memory be rebuilt (and re-uploaded)."""

from __future__ import annotations

from typing import Any

from conftest import ALICE
from fakes.slack import FakeSlack
from harness import say
from test_shared_files import png, share, user_parts, user_text

from bot.slack.file_limits import MB, within_request_limits


def pdf(slack: FakeSlack, name: str, megabytes: int) -> dict[str, Any]:
    content = b"%PDF-1.4\n" + name.encode() * (megabytes * MB // len(name))
    return slack.files.add(name, content, mimetype="application/pdf", filetype="pdf", pretty_type="PDF")


async def test_an_image_over_openais_20_mb_limit_is_named_and_the_question_answered(start_bot, slack, model):
    bot = await start_bot(max_file_mb=32)
    image = slack.files.add(
        "huge.png", png("x") + b"\0" * 21 * MB, mimetype="image/png", filetype="png", pretty_type="PNG"
    )

    question = await share(bot, slack, "C1", ALICE, "<@UBOT> what is in this photo?", [image])

    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=20.0)
    assert answer["text"].startswith("Reply 1:")
    assert "huge.png (PNG, 21.0 MB) not readable: larger than the 20 MB OpenAI takes for an image" in user_text(model)
    assert not [p for p in user_parts(model) if p["type"] == "input_image"]
    assert not model.files.uploads  # not even uploaded


async def test_pdfs_adding_up_past_one_requests_limit_leave_the_oldest_out_with_a_note(start_bot, slack, model):
    bot = await start_bot(max_file_mb=32)
    files = [pdf(slack, name, 12) for name in ("q1.pdf", "q2.pdf", "q3.pdf")]  # 36 MB; OpenAI takes 32 per request

    question = await share(bot, slack, "C1", ALICE, "<@UBOT> compare these reports", files)

    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=20.0)
    assert answer["text"].startswith("Reply 1:")
    assert model.last_request.status == 200
    sent = user_parts(model)
    assert len([p for p in sent if p["type"] == "input_file"]) == 2
    text = user_text(model)
    assert "[file q1.pdf (PDF, 12.0 MB) not readable: more images and PDFs than OpenAI takes" in text
    assert "[file q2.pdf (PDF, 12.0 MB)]" in text and "[file q3.pdf (PDF, 12.0 MB)]" in text


async def test_a_chain_whose_uploaded_file_expired_is_rebuilt_and_the_file_uploaded_again(start_bot, slack, model):
    bot = await start_bot(file_inline_max_bytes=50)  # every image is uploaded
    image = slack.files.add("diagram.png", png("a diagram"), mimetype="image/png", filetype="png", pretty_type="PNG")
    question = await share(bot, slack, "C1", ALICE, "<@UBOT> remember this diagram", [image])
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    [first_upload] = model.files.uploads
    model.files.uploads.clear()  # its 30 days are over: OpenAI deleted it

    await say(bot, slack, "C1", ALICE, "what did the diagram show?", thread_ts=question["ts"])

    answers = await slack.wait_for_bot_messages("C1", question["ts"], 2)
    assert "what did the diagram show? [files seen: " in answers[-1]["text"]  # the model has the diagram again
    refused, rebuilt = model.requests[-2:]
    assert refused.status == 400 and refused.previous_response_id
    assert rebuilt.status == 200 and rebuilt.previous_response_id is None
    assert len(model.files.uploads) == 1 and first_upload not in model.files.uploads


def _image(megabytes: int) -> dict[str, Any]:
    data = "A" * (megabytes * MB * 4 // 3)  # base64 of `megabytes` MB
    return {"type": "input_image", "detail": "auto", "image_url": f"data:image/png;base64,{data}"}


def test_inline_images_beyond_one_requests_budget_become_notes_oldest_first():
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": f"[file p{n}.png (PNG, 10.0 MB)]"}, _image(10)]}
        for n in range(5)
    ]

    fitted = within_request_limits(items, {})

    kept = [[p["type"] for p in item["content"]] for item in fitted]
    assert kept == [["input_text"]] * 2 + [["input_text", "input_image"]] * 3  # 30 MB of the 32 sent inline
    assert fitted[0]["content"][0]["text"].startswith("[file p0.png (PNG, 10.0 MB) not readable: more images")
    assert fitted[2:] == items[2:]  # untouched, as they were
