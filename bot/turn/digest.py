"""Summaries of a channel or a thread that may be longer than the model takes at once: read the messages (paced,
capped, once per turn), number them, summarize them in parts (map), and give the model the parts to answer from
(reduce: the turn itself). The messages the answer cites by number are listed under it as permalinks."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agents import Agent
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.model.agent import Source, TurnContext
from bot.model.quoting import BEGIN, END, PREAMBLE, when
from bot.model.summarize import summarize_part
from bot.model.usage import TurnUsage
from bot.slack.channels import ChannelLookup
from bot.slack.client import without_rate_limit_retries
from bot.slack.links import why_unreadable
from bot.slack.people import People
from bot.slack.text import to_readable
from bot.turn.catch_up import SummaryRequest
from bot.turn.history import BotIdentity, HistoryUnavailable, message_text, read_thread, user_ids_in

logger = logging.getLogger(__name__)

PAGE_LIMIT = 200  # per history page (Slack may serve fewer: 15 for non-Marketplace distributed apps)
MAX_MESSAGES = 1000  # read per summary: the newest ones win
READ_SECONDS = 45.0  # reading stops after this long (rate limits); what was not read is said
MAX_PARTS = 24  # model calls for the parts of one summary; beyond, the oldest messages are left out (and said)
MAX_CITED = 10
PARALLEL_PARTS = 4
_KEPT_SUBTYPES = {None, "thread_broadcast", "file_share", "bot_message"}
_CITATION = re.compile(r"\[(\d{1,5})\]")

Status = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Digest:
    note: str  # added to the person's turn
    permalinks: dict[int, tuple[str, str]] = field(default_factory=dict)  # number -> (title, permalink)
    usage: TurnUsage = field(default_factory=TurnUsage)  # the parts' model calls

    def cited(self, text: str) -> tuple[Source, ...]:
        """The numbered messages the answer cites, in the order cited, as sources for under the answer."""
        numbers = dict.fromkeys(int(n) for n in _CITATION.findall(text))
        found = [self.permalinks[n] for n in numbers if n in self.permalinks][:MAX_CITED]
        return tuple(Source(title=title, url=url) for title, url in found)


@dataclass(frozen=True)
class _Line:
    number: int
    text: str
    title: str
    permalink: str


def chunked(lines: list[str], budget_chars: int) -> list[list[str]]:
    """Consecutive lines in parts of at most `budget_chars` (a longer line is a part of its own)."""
    parts: list[list[str]] = [[]]
    size = 0
    for line in lines:
        if parts[-1] and size + len(line) + 1 > budget_chars:
            parts.append([])
            size = 0
        parts[-1].append(line)
        size += len(line) + 1
    return [part for part in parts if part]


class Digests:
    def __init__(self, client: AsyncWebClient, people: People, bot: BotIdentity) -> None:
        self._client = client
        # Pages after the first give up at a 429 rather than wait out Retry-After (a minute for distributed apps
        # outside the Marketplace): the summary says what was not read instead of keeping the person waiting.
        self._no_wait = without_rate_limit_retries(client)
        self._people = people
        self._bot = bot

    async def digest(
        self,
        request: SummaryRequest,
        *,
        team_id: str,
        readable_channels: frozenset[str],
        agent: Agent[TurnContext],
        context: TurnContext,
        status: Status,
        budget_chars: int,
    ) -> Digest:
        channels = ChannelLookup(self._client)
        channel_id = request.channel_id
        facts = await channels.facts(channel_id)
        reason = why_unreadable(channel_id, facts, readable_channels=readable_channels)
        name = facts.name if facts is not None else ""
        if reason:
            return Digest(f"The person asked for a summary of <#{channel_id}>, which cannot be read: {reason}.")
        place = f"#{name}" if name else f"<#{channel_id}>"
        await status(f"is reading {place}…")
        try:
            messages, unread = await self._read(request)
        except HistoryUnavailable as error:
            return Digest(f"The messages of {place} could not be read ({error.code}). Say so.")
        lines = await self._numbered(request, messages, team_id=team_id, channel_name=name)
        what = "the thread" if request.thread_ts else f"the messages of {place} {request.since_label}".strip()
        heading = f"{what[0].upper()}{what[1:]}: {len(lines)} message(s)" + (f"; {unread}" if unread else "")
        body = [line.text for line in lines]
        usage = TurnUsage()
        if sum(len(t) + 1 for t in body) > budget_chars:
            body, left_out, usage = await self._in_parts(body, agent, context, status, budget_chars)
            heading += f", summarized in {len(body)} part(s) here"
            if left_out:
                heading += f" (the oldest {left_out} were left out: too many for one summary)"
        note = "\n".join(
            [
                heading + ".",
                "Answer with a summary for someone catching up: key points, decisions, open questions, who does "
                "what. Cite the key messages by their numbers in square brackets, like [12]: they are listed as "
                "links under your answer.",
                PREAMBLE,
                BEGIN,
                *(_defused(t) for t in body),
                END,
            ]
        )
        return Digest(note, {line.number: (line.title, line.permalink) for line in lines}, usage)

    async def _read(self, request: SummaryRequest) -> tuple[list[dict[str, Any]], str]:
        """The messages, oldest first, and what was left unread (empty when all was read)."""
        if request.thread_ts:
            return await read_thread(self._client, request.channel_id, request.thread_ts), ""
        newest_first: list[dict[str, Any]] = []
        cursor: str | None = None
        started = time.monotonic()
        unread = ""
        while True:
            try:
                response = await (self._no_wait if newest_first else self._client).conversations_history(
                    channel=request.channel_id,
                    oldest=str(request.oldest) if request.oldest else None,
                    cursor=cursor,
                    limit=PAGE_LIMIT,
                )
            except SlackApiError as error:
                code = str(error.response.get("error"))
                if newest_first and code == "ratelimited":
                    unread = f"only the newest {len(newest_first)} were read: Slack's rate limit for history reads"
                    break
                if newest_first:  # keep what was read; say the rest was not
                    unread = f"older messages could not be read ({code})"
                    break
                raise HistoryUnavailable("conversations.history", str(error.response.get("error"))) from error
            newest_first.extend(response.get("messages") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
            if len(newest_first) >= MAX_MESSAGES:
                unread = f"only the newest {len(newest_first)} were read"
                break
            if time.monotonic() - started > READ_SECONDS:
                unread = f"only the newest {len(newest_first)} were read (Slack's rate limits slowed reading)"
                break
        return list(reversed(newest_first)), unread

    async def _numbered(
        self, request: SummaryRequest, messages: list[dict[str, Any]], *, team_id: str, channel_name: str
    ) -> list[_Line]:
        kept = [m for m in messages if m.get("subtype") in _KEPT_SUBTYPES and m.get("ts") and message_text(m)]
        names = await self._people.names(team_id, user_ids_in(kept))
        lines = []
        for number, message in enumerate(kept, 1):
            author = names.get(message.get("user") or "") or message.get("username") or message.get("user") or "?"
            replies = message.get("reply_count") if not request.thread_ts else 0
            extra = f" ({replies} replies)" if replies else ""
            text = " ".join(to_readable(message_text(message), names).split())
            stamp = when(message["ts"])
            lines.append(
                _Line(
                    number=number,
                    text=f"[{number}] {stamp} · {author}: {text}{extra}",
                    title=f"[{number}] {author} · {stamp}" + (f" in #{channel_name}" if channel_name else ""),
                    permalink=self._permalink(request, message["ts"]),
                )
            )
        return lines

    def _permalink(self, request: SummaryRequest, ts: str) -> str:
        base = self._bot.workspace_url or "https://slack.com/"
        link = f"{base.rstrip('/')}/archives/{request.channel_id}/p{ts.replace('.', '')}"
        if request.thread_ts and ts != request.thread_ts:
            link += f"?thread_ts={request.thread_ts}&cid={request.channel_id}"
        return link

    async def _in_parts(
        self, lines: list[str], agent: Agent[TurnContext], context: TurnContext, status: Status, budget_chars: int
    ) -> tuple[list[str], int, TurnUsage]:
        """Map: each part of the messages becomes a few cited bullet points; again, while they do not fit.
        Also returns how many of the oldest messages were left out to stay within MAX_PARTS model calls."""
        level = lines
        left_out = 0
        usage = TurnUsage()
        for _round in range(3):
            parts = chunked(level, budget_chars)
            if len(parts) > MAX_PARTS:
                if level is lines:
                    left_out = sum(len(part) for part in parts[:-MAX_PARTS])
                parts = parts[-MAX_PARTS:]
            summaries, spent = await self._summarize_parts(parts, agent, context, status)
            usage = usage + spent
            level = summaries
            if sum(len(s) + 1 for s in level) <= budget_chars or len(level) == 1:
                break
        return level, left_out, usage

    async def _summarize_parts(
        self, parts: list[list[str]], agent: Agent[TurnContext], context: TurnContext, status: Status
    ) -> tuple[list[str], TurnUsage]:
        """The parts' summaries, in order; PARALLEL_PARTS model calls at a time (the turn has a time limit)."""
        gate = asyncio.Semaphore(PARALLEL_PARTS)
        done = 0

        async def one(part: list[str]) -> tuple[str, TurnUsage]:
            nonlocal done
            async with gate:
                summary, usage = await summarize_part(agent, "\n".join(part), context=context)
            done += 1
            await status(f"is summarizing: {done} of {len(parts)} parts done…")
            return summary.strip(), usage

        await status(f"is summarizing {len(parts)} parts…")
        results = await asyncio.gather(*(one(part) for part in parts))
        total = sum((usage for _summary, usage in results), TurnUsage())
        return [f"Part {number}:\n{summary}" for number, (summary, _u) in enumerate(results, 1)], total


def _defused(text: str) -> str:
    return text.replace("<<<", "‹‹‹").replace(">>>", "›››")
