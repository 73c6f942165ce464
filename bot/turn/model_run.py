"""Running the model with the conversation's memory: continue it, or rebuild it from Slack when there is none,
it is gone, or it outgrew the context window; last, the message alone."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import openai
from agents import Agent
from slack_sdk.web.async_client import AsyncWebClient

from bot.model.agent import PausedRun, TurnContext, TurnOutput, resumed_state, run_turn
from bot.model.errors import ContextOverflow
from bot.model.input_items import InputItem, content_chars, with_files
from bot.model.memory import ModelMemory, RunPlan
from bot.model.notes_input import TurnNotes
from bot.model.options import ModelOptions
from bot.model.tool_progress import ToolProgress
from bot.model.tools import AgentTools
from bot.shared import phrases
from bot.shared.conversation_key import ConversationKey
from bot.slack.files import FileReader
from bot.slack.people import People
from bot.slack.reply import Reply
from bot.state.thread_state import Recall
from bot.turn.catch_up import catch_up_request
from bot.turn.digest import Digests
from bot.turn.history import (
    BotIdentity,
    conversation_input,
    messages_since_reset,
    read_dm,
    read_thread,
    user_ids_in,
    user_turn,
)
from bot.turn.linked_messages import LinkedMessages
from bot.turn.routing import IncomingMessage

logger = logging.getLogger(__name__)


async def _no_status(_line: str) -> None:
    return None


@dataclass(frozen=True)
class RunSetup:
    """What one run works with: the channel's agent, who speaks where, and where its words and progress go."""

    agent: Agent[TurnContext]
    context: TurnContext
    reply: Reply
    progress: ToolProgress
    status: Callable[[str], Awaitable[None]] = _no_status  # a line of progress in Slack ("is reading #x…")
    notes: TurnNotes | None = None  # long-term notes for the user turn; None: long-term memory is off


class ModelRun:
    """One answer's model run over the conversation's memory (`run`)."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        files: FileReader,
        people: People,
        agents: AgentTools,
        model_memory: ModelMemory,
        options: ModelOptions,
        bot: BotIdentity,
        history_budget_chars: int,
    ) -> None:
        self._client = client
        self._files = files
        self._people = people
        self._agents = agents
        self._model_memory = model_memory
        self._options = options
        self.bot = bot
        self._budget_chars = history_budget_chars
        self._links = LinkedMessages(client, people)
        self._digests = Digests(client, people, bot)

    async def run(
        self,
        message: IncomingMessage,
        recall: Recall,
        turn: RunSetup,
        speaker_names: dict[str, str],
        prefetched: list[dict[str, Any]] | None,
    ) -> tuple[RunPlan, TurnOutput]:
        """The person's turn (with their files, the Slack messages they link, a summary they ask for), answered
        over the conversation's memory; the messages a summary cites are listed under the answer."""
        current = user_turn(message.text, user_id=message.user_id, names=speaker_names, bot_user_id=self.bot.user_id)
        if message.files:  # read once, here: later turns reach them through the chain
            room = self._budget_chars - content_chars(current)
            current = with_files(current, await self._files.parts_of(message.files, text_budget=room))
        request = message.summarize or catch_up_request(
            message.text, bot_user_id=self.bot.user_id, now=datetime.fromtimestamp(float(message.ts), tz=UTC)
        )
        if request is None:
            current = await self._with_linked_messages(message, current)
            return await self._run_with_memory(message, recall, turn, prefetched, current)
        digest = await self._digests.digest(
            request,
            team_id=message.key.team_id,
            readable_channels=frozenset({message.key.channel_id, *message.shared_channels}),
            agent=turn.agent,
            context=turn.context,
            status=turn.status,
            budget_chars=(self._budget_chars - content_chars(current)) // 2,
        )
        current = with_files(current, [{"type": "input_text", "text": digest.note}])
        await turn.status(phrases.WRITING_SUMMARY_STATUS)
        plan, output = await self._run_with_memory(message, recall, turn, prefetched, current)
        return plan, replace(
            output, sources=output.sources + digest.cited(output.text), usage=output.usage + digest.usage
        )

    async def _run_with_memory(
        self,
        message: IncomingMessage,
        recall: Recall,
        turn: RunSetup,
        prefetched: list[dict[str, Any]] | None,
        current: InputItem,
    ) -> tuple[RunPlan, TurnOutput]:
        """Continue the conversation's memory; when there is none, or it is gone, rebuild it from Slack."""
        key, memory = message.key, self._model_memory

        async def on_text(delta: str) -> None:
            turn.reply.add(delta)

        async def run(plan: RunPlan, how: str) -> tuple[RunPlan, TurnOutput]:
            # Notes go in the user turn, before the message: all of them unless the chain already holds them.
            notes = await turn.notes.item(chained=how == "chained") if turn.notes else None
            items = self._files.within_request_limits([*plan.history, *([notes] if notes else []), current])
            output = await self._call_model(key, items, turn, plan.run_options, on_text)
            return plan, replace(output, how=how)

        reference = recall.usable_reference(time.time(), mode=memory.mode, retention_seconds=memory.retention_seconds)
        if reference:
            try:
                return await run(await memory.resume(key, reference), "chained")
            except Exception as error:
                if not (isinstance(error, ContextOverflow) or memory.is_gone(error)):
                    raise
                said = "outgrew the model's context window" if isinstance(error, ContextOverflow) else "is gone"
                logger.info("The memory of %s %s (%s): rebuilding it from Slack", key, said, describe_error(error))
        superseded = recall.superseded_reference(mode=memory.mode)
        if superseded:  # after a reset, or gone: what is left of it must not outlive the rebuild
            await memory.forget(key, superseded)
        room = self._budget_chars - content_chars(current)
        earlier = await self._rebuild(message, recall, prefetched, room)
        if earlier:  # what is seeded (into a conversation, say) goes with this turn's message: fit them together
            earlier = self._files.within_request_limits([*earlier, current])[:-1]
        plan = await memory.seed(key, earlier)
        try:
            return await run(plan, "rebuilt" if earlier else "new")
        except ContextOverflow:
            if not earlier:
                raise  # the message alone does not fit: the person is told so
            logger.warning("%s does not fit the model even rebuilt: answering the message alone", key)
            if plan.reference:
                await memory.forget(key, plan.reference)
        return await run(await memory.seed(key, []), "alone")

    async def resume(self, key: ConversationKey, paused: PausedRun, turn: RunSetup, *, approved: bool) -> TurnOutput:
        """Go on with a run that waited for approval: its calls run (approved) or are refused (rejected)."""
        state = await resumed_state(turn.agent, paused, approved=approved, refusal=phrases.APPROVAL_REFUSED_TO_MODEL)

        async def on_text(delta: str) -> None:
            turn.reply.add(delta)

        return await run_turn(
            turn.agent,
            state,
            context=turn.context,
            run_options={},  # the state carries the memory's arguments
            on_text=on_text,
            settings=self._options.for_conversation(key),
            on_tool=turn.progress.update,
            max_turns=self._agents.max_turns,
        )

    async def _with_linked_messages(self, message: IncomingMessage, current: InputItem) -> InputItem:
        """Slack messages the person linked to, read once, here (later turns reach them through the chain)."""
        readable = frozenset({message.key.channel_id, *message.shared_channels})
        room = (self._budget_chars - content_chars(current)) // 2
        notes = await self._links.notes_for(
            message.text, team_id=message.key.team_id, readable_channels=readable, budget_chars=room
        )
        return with_files(current, [{"type": "input_text", "text": note} for note in notes])

    async def _call_model(
        self,
        key: ConversationKey,
        items: list[dict[str, Any]],
        turn: RunSetup,
        run_options: dict[str, Any],
        on_text: Callable[[str], Awaitable[None]],
    ) -> TurnOutput:
        """One run with this conversation's options; an option the endpoint refuses is dropped and the run made
        again (it fails before any text)."""
        while True:
            settings = self._options.for_conversation(key)
            try:
                return await run_turn(
                    turn.agent,
                    items,
                    context=turn.context,
                    run_options=run_options,
                    on_text=on_text,
                    settings=settings,
                    on_tool=turn.progress.update,
                    max_turns=self._agents.max_turns,
                )
            except openai.APIStatusError as error:
                if not self._options.drop_refused(error):
                    raise

    async def _rebuild(
        self, message: IncomingMessage, recall: Recall, prefetched: list[dict[str, Any]] | None, budget: int
    ) -> list[dict[str, Any]]:
        """The conversation before `message`, from Slack: after the last reset, within `budget` characters."""
        key = message.key
        if prefetched is not None:
            messages = prefetched
        elif key.is_dm_running:
            messages = await read_dm(self._client, key.channel_id, oldest=recall.forget_before, budget_chars=budget)
        elif message.in_thread:
            messages = await read_thread(self._client, key.channel_id, key.thread_ts)
        else:
            return []  # a new thread: nothing was said before this message
        names = await self._people.names(key.team_id, user_ids_in(messages))
        kept = messages_since_reset(
            messages, bot=self.bot, current_ts=message.ts, forget_before=recall.forget_before, is_dm=message.is_dm
        )
        file_parts = await self._files.parts_for_rebuild(kept, text_budget=budget // 2)
        return conversation_input(
            kept,
            bot=self.bot,
            current_ts=message.ts,
            forget_before=recall.forget_before,
            names=names,
            budget_chars=budget,
            is_dm=message.is_dm,
            file_parts=file_parts,
        )


def model_name(agent: Agent[TurnContext]) -> str:
    return str(getattr(agent.model, "model", agent.model))


def describe_error(error: BaseException) -> str:
    """A log line's worth of an error: its type and, for API errors, status and code; never a secret."""
    status = getattr(error, "status_code", None)
    code = getattr(error, "code", None)
    details = ", ".join(str(x) for x in (status, code) if x)
    return f"{type(error).__name__}({details})" if details else type(error).__name__
