"""The model writes Markdown; Slack shows it formatted, and long answers arrive in several whole messages."""

from __future__ import annotations

import re

from conftest import ALICE
from harness import say

from bot.slack.render import MESSAGE_MARKDOWN_LIMIT, plain_text

MARKDOWN_ANSWER = """\
# Deploying

Run the **deploy** script, then check [the dashboard](https://status.example.com).

- build
- test

| step | time |
|------|------|
| build | 2 min |

```python
deploy(force=True, **options)
```"""


def _long_answer() -> str:
    """About 30,000 characters: prose, lists and code blocks, in the shape a model writes them."""
    sections = []
    for n in range(1, 42):
        code = "\n".join(f"    total_{n} += value * {i}  # step {i}" for i in range(12))
        sections.append(
            f"## Part {n}\n\nThis part explains step {n} in some detail, with enough words to make a "
            f"real paragraph that a reader would not want split in the middle of a sentence.\n\n"
            f"- first point of part {n}\n- second point of part {n}\n\n"
            f"```python\ndef part_{n}(values):\n    total_{n} = 0\n    for value in values:\n{code}\n    "
            f"return total_{n}\n```"
        )
    return "\n\n".join(sections)


def _shown(message: dict) -> str:
    """What Slack renders: a posted answer's markdown block, or a streamed message's text."""
    markdown = [b["text"] for b in message.get("blocks") or [] if b["type"] == "markdown"]
    return markdown[0] if markdown else message["text"]


def _words(text: str) -> list[str]:
    return text.split()


def _fence_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if re.match(r"^\s*```", line)]


async def test_markdown_is_rendered_by_slack_with_a_readable_plain_text_fallback(start_bot, slack, model):
    bot = await start_bot(instant_answer_seconds=3.0)
    model.reply_with(MARKDOWN_ANSWER)

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> how do I deploy?")
    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1)

    assert answer["blocks"][0] == {"type": "markdown", "text": MARKDOWN_ANSWER}  # Slack renders it
    assert answer["blocks"][1]["type"] == "context_actions"  # and the feedback buttons under it
    fallback = answer["text"]  # what notifications and screen readers get
    assert fallback.startswith("Deploying\n")
    assert "Run the deploy script, then check the dashboard (https://status.example.com)." in fallback
    assert "deploy(force=True, **options)" in fallback  # code stays as written
    for noise in ("# ", "**deploy**", "```", "|------|", "]("):
        assert noise not in fallback


async def test_a_very_long_answer_arrives_in_several_messages_with_nothing_lost(start_bot, slack, model):
    bot = await start_bot(instant_answer_seconds=3.0)
    long_answer = _long_answer()
    assert len(long_answer) > 30_000
    model.reply_with(long_answer)

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> explain all the parts")

    def shown() -> list[str]:
        return [m["blocks"][0]["text"] for m in slack.bot_messages("C1", question["ts"])]

    await slack.wait_for(lambda: _words("\n\n".join(shown())) == _words(long_answer))
    parts = slack.bot_messages("C1", question["ts"])
    texts = shown()
    assert len(texts) >= 4
    assert all(len(t) <= MESSAGE_MARKDOWN_LIMIT for t in texts)
    assert all(len(_fence_lines(t)) % 2 == 0 for t in texts)  # every part renders its code as code
    assert _words("\n\n".join(texts)) == _words(long_answer)

    # The parts are one answer: rebuilt from Slack, the model sees one assistant turn.
    model.forget_all()
    await say(bot, slack, "C1", ALICE, "which part was longest?", thread_ts=question["ts"])
    await slack.wait_for_bot_messages("C1", question["ts"], len(parts) + 1)
    sent = model.requests[-1]
    assert [role for role, _ in sent.input_texts] == ["user", "assistant", "user"]
    assert _words(sent.input_texts[1][1]) == _words(long_answer)


async def test_a_very_long_streamed_answer_continues_in_new_messages_with_code_intact(bot, slack, model):
    long_answer = _long_answer()
    model.reply_with(long_answer)
    model.stream_chunks, model.stream_chunk_delay = 40, 0.02  # slow enough to stream

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> explain all the parts")

    def finished() -> bool:
        messages = slack.bot_messages("C1", question["ts"])
        return bool(messages) and _shown(messages[-1]).endswith(long_answer[-40:]) and not messages[-1].get("streaming")

    await slack.wait_for(finished, 10)
    parts = [_shown(p) for p in slack.bot_messages("C1", question["ts"])]

    assert len(parts) >= 4
    assert slack.calls_to("chat.startStream")  # it streamed while the model wrote
    assert not any(p.get("streaming") for p in slack.bot_messages("C1", question["ts"]))  # and every part is closed
    assert all(len(p) <= MESSAGE_MARKDOWN_LIMIT for p in parts)
    assert all(len(_fence_lines(p)) % 2 == 0 for p in parts)
    # A code block cut between messages is closed and reopened; apart from those fences, every word is there.
    shown = "\n".join(parts)
    assert [w for w in _words(shown) if not w.startswith("```")] == [
        w for w in _words(long_answer) if not w.startswith("```")
    ]


def test_the_plain_text_version_keeps_numbers_mentions_and_link_targets():
    markdown = "Ask <@UBOB>:\n\n1. open [the runbook](https://wiki.example.com/run)\n2. ~~panic~~ *breathe*"

    assert (
        plain_text(markdown) == "Ask <@UBOB>:\n\n1. open the runbook (https://wiki.example.com/run)\n2. panic breathe"
    )


async def test_a_long_answer_written_slowly_in_a_dm_arrives_whole_and_is_remembered(bot, slack, model):
    # At a DM's top level Slack does not stream: one message is posted and edited as the answer grows, and
    # chat.update refuses a `text` over 4,000 characters, so the notification text must stay short.
    answer = "\n\n".join(f"Paragraph {n}: " + "a sentence that goes on for a while. " * 6 for n in range(40))
    assert 5_000 < len(answer) < MESSAGE_MARKDOWN_LIMIT
    model.reply_with(answer)
    model.stream_chunks, model.stream_chunk_delay = 6, 0.25

    await say(bot, slack, "D1", ALICE, "tell me a long story")

    await slack.wait_for(lambda: [m["blocks"][0]["text"] for m in slack.bot_messages("D1")] == [answer], 10)
    [message] = slack.bot_messages("D1")
    assert slack.calls_to("chat.update")  # it was edited in place, not posted at the end
    assert 0 < len(message["text"]) <= 4_000 and message["text"].startswith("Paragraph 0: a sentence")
    remembered = model.requests[-1].response_id

    model.stream_chunk_delay = 0.0
    await say(bot, slack, "D1", ALICE, "and the moral?")
    await slack.wait_for_bot_messages("D1", None, 2)
    assert model.requests[-1].previous_response_id == remembered
