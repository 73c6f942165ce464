"""`local` mode: nothing is stored at the model provider; the transcript lives in Redis.

The transcript is the Agents SDK's RedisSession, or on a Redis Cluster one of ours (see Memory.transcript).
It is read before the run and written after the answer is in Slack, rather than handed to the run as
`session=`: the SDK would save
the question before the model answers and the answer before Slack shows it, and a failed turn must
leave memory as it was. Past the budget the oldest turns go, the root kept (history.fit_budget).
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

import openai
from agents import ModelSettings
from agents.memory import Session

from bot.model.agent import TurnOutput
from bot.model.input_items import fit_budget
from bot.model.memory.base import InputItem, MemoryGone, ModelMemory, RunPlan
from bot.shared.conversation_key import ConversationKey
from bot.state.memory import Memory
from bot.state.redis_link import RedisUnavailable

KEPT = "local"  # the reference stored in the thread's state: "a transcript exists"


class LocalMemory(ModelMemory):
    mode = "local"
    uploads_allowed = False

    def __init__(self, memory: Memory, *, budget_chars: int, max_visual: int, encrypted_reasoning: bool) -> None:
        self._memory = memory
        self._budget = budget_chars
        self._max_visual = max_visual  # images and PDFs the transcript keeps (the newest), as a rebuild does
        self._encrypted_reasoning = encrypted_reasoning  # the Responses API can return reasoning to carry

    def model_settings(self, settings: ModelSettings) -> ModelSettings:
        include = ["reasoning.encrypted_content"] if self._encrypted_reasoning else None
        return replace(settings, store=False, response_include=include)

    async def resume(self, key: ConversationKey, reference: str) -> RunPlan:
        transcript = self._memory.transcript(key)
        try:
            items = await self._memory.guard.run(lambda _r: transcript.get_items())
        except RedisUnavailable:
            raise MemoryGone("Redis is unreachable") from None
        if not items:
            raise MemoryGone("the transcript has expired or was lost")
        return RunPlan(history=[dict(item) for item in items], reference=reference)

    async def seed(self, key: ConversationKey, earlier: list[InputItem]) -> RunPlan:
        return RunPlan(history=earlier, fresh=True)

    async def keep(self, key: ConversationKey, plan: RunPlan, output: TurnOutput) -> str:
        transcript = self._memory.transcript(key)
        kept = len(plan.history)
        items = fewer_visuals([*plan.history, *plain_messages(output.items[kept:])], self._max_visual)
        fitted = fit_budget(items, self._budget)
        rewritten = any(new is not old for new, old in zip(items[:kept], plan.history, strict=True))
        try:
            if plan.fresh or rewritten or len(fitted) != len(items):
                await self._memory.guard.run(lambda _r: replace_items(transcript, fitted))
            else:
                new = items[len(plan.history) :]
                await self._memory.guard.run(lambda _r: transcript.add_items(new))  # type: ignore[arg-type]
        except RedisUnavailable:
            return ""  # no transcript to continue from: the next turn rebuilds from Slack
        return KEPT

    async def forget(self, key: ConversationKey, reference: str) -> None:
        transcript = self._memory.transcript(key)
        # Redis away: the reset itself is kept, and a transcript from before it is never read again.
        with contextlib.suppress(RedisUnavailable):
            await self._memory.guard.run(lambda _r: transcript.clear_session())

    def is_gone(self, error: BaseException) -> bool:
        if isinstance(error, MemoryGone):
            return True
        # An item the provider will not take back without stored responses: start again from Slack.
        return (
            isinstance(error, openai.APIStatusError)
            and error.status_code in (400, 404)
            and getattr(error, "param", None) == "input"
            and "not persisted" in str(getattr(error, "message", "") or error)
        )


def plain_messages(items: list[InputItem]) -> list[InputItem]:
    """Answers as plain assistant messages: what the model needs of them, in a fraction of the bytes (and of
    the openai client's per-item work on every later request). An answer right after a reasoning item keeps
    its full form, which the reasoning item is paired with; other items are kept as they are."""
    out: list[InputItem] = []
    for item in items:
        content = item.get("content")
        plain = (
            item.get("role") == "assistant"
            and item.get("type", "message") == "message"
            and isinstance(content, list)
            and all(isinstance(part, dict) and part.get("type") == "output_text" for part in content)
            and not (out and out[-1].get("type") == "reasoning")
        )
        if plain and isinstance(content, list):
            item = {"role": "assistant", "content": "".join(str(part.get("text", "")) for part in content)}
        out.append(item)
    return out


VISUAL_PARTS = ("input_image", "input_file")
VISUAL_DROPPED = "[an image or PDF shared earlier in this conversation is no longer sent]"


def fewer_visuals(items: list[InputItem], keep: int) -> list[InputItem]:
    """Only the newest `keep` images and PDFs stay in the transcript; older ones become a short note
    (items that keep theirs are returned as they are)."""
    out: list[InputItem] = []
    seen = 0
    for item in reversed(items):
        content = item.get("content")
        if isinstance(content, list) and any(p.get("type") in VISUAL_PARTS for p in content):
            parts = []
            for part in reversed(content):
                if part.get("type") in VISUAL_PARTS:
                    seen += 1
                    if seen > keep:
                        part = {"type": "input_text", "text": VISUAL_DROPPED}
                parts.append(part)
            if parts[::-1] != content:
                item = {**item, "content": parts[::-1]}
        out.append(item)
    return out[::-1]


async def replace_items(transcript: Session, items: list[InputItem]) -> None:
    """The whole transcript at once. RedisSession does it in one transaction for the SDK's own compaction,
    the cluster's transcript in one script (`_atomic_replace_items`, looked up as the SDK's compaction
    session does); else clear, then add."""
    atomic = getattr(transcript, "_atomic_replace_items", None)
    if atomic is not None and await atomic(items):
        return
    await transcript.clear_session()
    await transcript.add_items(items)  # type: ignore[arg-type]
