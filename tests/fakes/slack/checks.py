"""What Slack checks in a message's content: blocks, `markdown_text` and streaming chunks."""

from __future__ import annotations

from typing import Any

from .errors import SlackError

# Limits from Slack's method pages (docs.slack.dev/reference/methods/<method>):
# chat.postMessage truncates `text` past 40,000 characters (warning `message_truncated`);
TEXT_LIMIT = 40_000
# chat.update refuses a `text` over 4,000 characters with `msg_too_long`;
UPDATE_TEXT_LIMIT = 4_000
# the markdown blocks of one message hold 12,000 characters (`msg_blocks_too_long`, bolt-js issue 2509);
MARKDOWN_BLOCKS_LIMIT = 12_000
SECTION_TEXT_LIMIT = 3_000
MAX_BLOCKS = 50
# `markdown_text` is "limited to 12,000 characters" on every chat method that takes it; the pages name no error
# code for going over, so the fake answers `invalid_arguments` (Slack's common error for a bad argument).
MARKDOWN_TEXT_LIMIT = 12_000
# Streaming chunk types and task statuses: https://docs.slack.dev/reference/methods/chat.appendStream#chunks
CHUNK_TYPES = ("markdown_text", "task_update", "plan_update", "blocks")
TASK_STATUSES = ("pending", "in_progress", "complete", "error")
TASK_DISPLAY_MODES = ("timeline", "plan")  # https://docs.slack.dev/reference/methods/chat.startStream


def check_blocks(blocks: Any) -> None:
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format")
    if len(blocks) > MAX_BLOCKS:
        raise SlackError("invalid_blocks")
    markdown_chars = 0
    for block in blocks:
        if block.get("type") == "section" and len(_section_text(block)) > SECTION_TEXT_LIMIT:
            raise SlackError("invalid_blocks")
        if block.get("type") == "markdown":
            markdown_chars += len(block.get("text", ""))
    if markdown_chars > MARKDOWN_BLOCKS_LIMIT:
        raise SlackError("msg_blocks_too_long")


def check_markdown_text(args: dict[str, Any], *, alone: bool = False) -> None:
    markdown_text = args.get("markdown_text")
    if markdown_text is None:
        return
    if len(markdown_text) > MARKDOWN_TEXT_LIMIT:
        raise SlackError("invalid_arguments")
    # chat.postMessage and chat.update: "This argument should not be used in conjunction with `blocks` or `text`."
    if alone and (args.get("text") is not None or args.get("blocks") is not None):
        raise SlackError("markdown_text_conflict")


def check_chunks(args: dict[str, Any]) -> None:
    """The documented chunk shapes; where Slack's answer to a malformed chunk is undocumented, invalid_arguments."""
    chunks = args.get("chunks")
    if chunks is None:
        return
    if not isinstance(chunks, list):
        raise SlackError("invalid_arguments")
    for chunk in chunks:
        if not isinstance(chunk, dict) or chunk.get("type") not in CHUNK_TYPES:
            raise SlackError("invalid_arguments")
        if chunk["type"] == "markdown_text" and not isinstance(chunk.get("text"), str):
            raise SlackError("invalid_arguments")
        if chunk["type"] == "task_update":
            if not chunk.get("id") or not chunk.get("title") or chunk.get("status") not in TASK_STATUSES:
                raise SlackError("invalid_arguments")
            for source in chunk.get("sources") or []:
                if source.get("type") != "url" or not source.get("url") or not source.get("text"):
                    raise SlackError("invalid_arguments")


def stream_text(args: dict[str, Any]) -> str:
    """The text a streaming call adds: its `markdown_text`, or its `markdown_text` chunks."""
    pieces = [c.get("text", "") for c in args.get("chunks") or [] if c.get("type") == "markdown_text"]
    return (args.get("markdown_text") or "") + "".join(pieces)


def _section_text(block: dict[str, Any]) -> str:
    return (block.get("text") or {}).get("text", "")
