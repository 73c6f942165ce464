"""The agent: its instructions, and one streamed run chained with `previous_response_id`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import openai
from agents import Agent, OpenAIResponsesModel, RunContextWrapper, Runner
from agents.models.default_models import get_default_model_settings
from openai import AsyncOpenAI

from . import phrases

BASE_INSTRUCTIONS = """\
You are a helpful assistant in a Slack workspace. Several people may talk to you in one thread: \
every user message starts with its author as "Name (<@USERID>):". Answer the latest message, \
keeping in mind who said what. To mention someone, write <@USERID> exactly. \
Write in GitHub-flavoured Markdown (headings, lists, tables, fenced code) and keep answers as \
short as the question allows."""


@dataclass(frozen=True)
class TurnContext:
    """Who is speaking and where; sent as instructions every turn, since the chain does not carry them."""

    speaker_id: str
    speaker_name: str | None
    place: str  # e.g. "a direct message" or "a thread in the channel <#C123>"
    people: dict[str, str] = field(default_factory=dict)  # user id -> name, for those mentioned


@dataclass(frozen=True)
class TurnOutput:
    text: str
    response_id: str


class ExpiredChain(Exception):
    """OpenAI no longer has the response to chain from: rebuild the conversation from Slack."""


def build_agent(*, model: str, client: AsyncOpenAI, extra_instructions: str = "") -> Agent[TurnContext]:
    settings = replace(get_default_model_settings(model), store=True)

    def instructions(wrapper: RunContextWrapper[TurnContext], _agent: Agent[TurnContext]) -> str:
        return turn_instructions(wrapper.context, extra_instructions)

    return Agent[TurnContext](
        name="Slack assistant",
        instructions=instructions,
        model=OpenAIResponsesModel(model=model, openai_client=client),
        model_settings=settings,
    )


def turn_instructions(context: TurnContext, extra: str = "") -> str:
    speaker = (
        f"{context.speaker_name} (<@{context.speaker_id}>)" if context.speaker_name else (f"<@{context.speaker_id}>")
    )
    lines = [BASE_INSTRUCTIONS, f"You are talking in {context.place}. The latest message is from {speaker}."]
    others = [f"{name} is <@{uid}>" for uid, name in context.people.items() if uid != context.speaker_id]
    if others:
        lines.append("People mentioned: " + "; ".join(others) + ".")
    if extra:
        lines.append(extra)
    return "\n\n".join(lines)


async def run_turn(
    agent: Agent[TurnContext],
    input_items: list[dict[str, Any]],
    *,
    context: TurnContext,
    previous_response_id: str | None,
    on_text: Callable[[str], Awaitable[None]],
) -> TurnOutput:
    """Run one turn, handing each piece of text to `on_text` as the model writes it."""
    result = Runner.run_streamed(
        agent,
        input_items,  # type: ignore[arg-type]
        context=context,
        previous_response_id=previous_response_id,
    )
    try:
        async for event in result.stream_events():
            if event.type == "raw_response_event" and event.data.type == "response.output_text.delta":
                await on_text(event.data.delta)
    except openai.APIStatusError as error:
        if previous_response_id and is_expired_chain(error):
            raise ExpiredChain(previous_response_id) from error
        raise
    except BaseException:
        result.cancel()
        raise
    if result.last_response_id is None:
        raise RuntimeError("the model's response has no id")
    return TurnOutput(text=str(result.final_output or ""), response_id=result.last_response_id)


def is_expired_chain(error: openai.APIStatusError) -> bool:
    if error.status_code not in (400, 404):
        return False
    code = getattr(error, "code", None)
    param = getattr(error, "param", None)
    message = str(getattr(error, "message", "") or error).lower()
    return code == "previous_response_not_found" or (
        "previous_response_id" in message or param == "previous_response_id"
    )


def failure_phrase(error: BaseException) -> str:
    """What to tell the people in the thread when the model could not answer."""
    if isinstance(error, openai.RateLimitError):
        code = getattr(error, "code", None)
        return phrases.TOO_LARGE if code == "tokens_exceeded" else phrases.BUSY
    if isinstance(error, openai.APITimeoutError | asyncio.TimeoutError | TimeoutError):
        return phrases.TOO_SLOW
    if isinstance(error, openai.APIConnectionError | openai.InternalServerError):
        return phrases.UNAVAILABLE
    if isinstance(error, openai.APIStatusError):
        if error.status_code == 413 or getattr(error, "code", None) in (
            "context_length_exceeded",
            "string_above_max_length",
        ):
            return phrases.TOO_LARGE
        if error.status_code >= 500:
            return phrases.UNAVAILABLE
    return phrases.FAILED
