"""One turn of a conversation: begin (claim, recall, queue) → continued or rebuilt run → reply → finish."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import openai
from agents import Agent
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.model.agent import TurnContext, TurnOutput, run_turn
from bot.model.errors import ContextOverflow, failure_phrase
from bot.model.input_items import content_chars, with_files
from bot.model.memory import ModelMemory, RunPlan
from bot.model.options import ModelOptions
from bot.model.tool_progress import ToolProgress, sources_markdown
from bot.model.tools import AgentTools
from bot.model.usage import budget_day, budget_note, over_budget, usage_line
from bot.shared import phrases
from bot.shared.conversation_key import ConversationKey
from bot.slack.answer_writing import AnswerWriting
from bot.slack.assistant_pane import set_thread_title, thread_title
from bot.slack.files import FileReader
from bot.slack.people import People
from bot.slack.reply import Reply, post_notice
from bot.slack.status import StatusCue
from bot.slack.text import mentioned_user_ids
from bot.state.memory import Memory, Turn
from bot.state.thread_state import Recall, ThreadState, now_ts
from bot.turn.history import (
    RESET_EVENT,
    BotIdentity,
    HistoryUnavailable,
    conversation_input,
    messages_since_reset,
    read_dm,
    read_thread,
    user_ids_in,
    user_turn,
)
from bot.turn.routing import IncomingMessage, is_empty_mention, is_reset_request

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnLimits:
    history_budget_chars: int
    turn_timeout_seconds: float
    instant_answer_seconds: float  # an answer complete sooner is posted in one message, with no status shown
    thread_memory_seconds: float  # how long after its last answer the bot follows a thread without a mention
    daily_token_budget: int = 0  # per person and UTC day; 0: unlimited


class Conversations:
    """Turns Slack messages into answers; the listeners hand every message they accept to `handle`."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        memory: Memory,
        people: People,
        agents: AgentTools,
        model_memory: ModelMemory,
        bot: BotIdentity,
        limits: TurnLimits,
        files: FileReader,
        options: ModelOptions | None = None,
    ) -> None:
        self._client = client
        self._files = files
        self._memory = memory
        self._model_memory = model_memory
        self._people = people
        self._agents = agents
        self.bot = bot
        self._limits = limits
        self._writing = AnswerWriting.for_client(client)  # shared by every answer: streaming verdicts, budgets
        self._options = options or ModelOptions(compact_threshold_tokens=0)
        self._in_flight: set[asyncio.Task[Any]] = set()

    @property
    def in_flight(self) -> int:
        """Messages being handled right now (answered, waiting their turn, or being remembered)."""
        return len(self._in_flight)

    # Entry points -------------------------------------------------------------------------------
    async def handle(self, message: IncomingMessage) -> None:
        """Answer `message` once, whatever Slack redelivers, in order with its conversation."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self._handle(message)
        except Exception:
            logger.exception("Could not handle message %s in %s", message.ts, message.key)
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def reset_channel(self, team_id: str, channel_id: str) -> None:
        """`/reset`: forget every conversation of a channel, or of a DM and all its threads."""
        await self._memory.forget_channel(team_id, channel_id, now_ts())

    async def reset_thread(self, key: ConversationKey, *, user_id: str) -> None:
        """The message shortcut: forget one thread, and leave a note in it saying so."""
        await self._forget_thread(key, now_ts())
        try:
            await post_reset_note(self._client, key, user_id=user_id)
        except SlackApiError as error:
            logger.warning("Could not leave a reset note in %s: %s", key, error.response.get("error"))

    async def drain(self, seconds: float) -> None:
        """Let in-flight turns finish (on shutdown); cancel what is left after `seconds`."""
        pending = {t for t in self._in_flight if t is not asyncio.current_task()}
        if not pending:
            return
        logger.info("Finishing %d turn(s) before stopping", len(pending))
        _done, still_running = await asyncio.wait(pending, timeout=seconds)
        for task in still_running:
            task.cancel()
        if still_running:
            await asyncio.wait(still_running, timeout=2)
            logger.warning("Abandoned %d turn(s) at shutdown; nothing of them was remembered", len(still_running))

    # The turn ------------------------------------------------------------------------------------
    async def _handle(self, message: IncomingMessage) -> None:
        key = message.key
        resetting = is_reset_request(message.text, self.bot.user_id)
        empty = is_empty_mention(message.text, self.bot.user_id) and not message.files
        too_long = len(message.text) > self._limits.history_budget_chars
        turn = await self._memory.begin_turn(
            key,
            message.ts,
            requires_part=message.needs_participation,
            # A mention makes the bot part of the thread from now on: a follow-up sent while this turn runs
            # is answered too. A hint or a refusal keeps the next message there answered.
            joins=not resetting and (empty or too_long or (message.mentioned and not message.is_dm)),
            answers=not (resetting or empty or too_long),
        )
        if turn is None:
            return  # a repeat delivery
        try:
            await self._take_turn(message, turn, resetting=resetting, empty=empty, too_long=too_long)
        finally:
            await turn.leave()  # a no-op once the turn finished

    async def _take_turn(
        self, message: IncomingMessage, turn: Turn, *, resetting: bool, empty: bool, too_long: bool
    ) -> None:
        key = message.key
        prefetched: list[dict[str, Any]] | None = None
        if message.needs_participation and turn.recall.state is None:
            taking_part, prefetched = await self._taking_part(message, turn.recall)
            if not taking_part:
                return
        if resetting:
            await self._forget_thread(key, message.ts)
            await self._confirm(message, phrases.RESET_THREAD)
            return
        if empty:
            hint = phrases.DM_HINT if message.is_dm else phrases.HINT.format(bot=self.bot.user_id)
            await post_notice(self._client, key.channel_id, message.reply_thread_ts, hint)
            return
        if too_long:
            text = phrases.MESSAGE_TOO_LONG.format(length=len(message.text), limit=self._limits.history_budget_chars)
            await post_notice(self._client, key.channel_id, message.reply_thread_ts, text)
            return
        answering = False
        try:
            async with turn.in_order() as recall:
                answering = True
                await self._answer(message, turn, recall, prefetched)
        except asyncio.CancelledError:
            if not answering:  # shutting down before this message's turn came: say so, don't leave it unanswered
                with contextlib.suppress(Exception):
                    await post_notice(self._client, key.channel_id, message.reply_thread_ts, phrases.RESTARTING)
            raise

    async def _forget_thread(self, key: ConversationKey, reset_ts: str) -> None:
        """Forget a thread for good: in Redis, and where the model's memory of it lives."""
        recall = await self._memory.recall(key)
        await self._memory.forget_thread(key, reset_ts)
        superseded = recall.superseded_reference(mode=self._model_memory.mode)
        if superseded:
            await self._model_memory.forget(key, superseded)

    async def _taking_part(self, message: IncomingMessage, recall: Recall) -> tuple[bool, list[dict[str, Any]] | None]:
        """Whether the bot is part of this thread: Redis says, unless it is away or may have lost the
        thread; then Slack's thread history tells."""
        memory_seconds = self._limits.thread_memory_seconds
        if recall.from_redis and not recall.may_have_forgotten(
            message.key.thread_ts, now=time.time(), memory_seconds=memory_seconds
        ):
            return False, None
        try:
            messages = await read_thread(self._client, message.key.channel_id, message.key.thread_ts)
        except HistoryUnavailable as error:
            # Neither Redis nor Slack can say whether this thread is the bot's: better silent than intrusive.
            logger.warning("Left a follow-up in %s unanswered: Redis is away and Slack said %s", message.key, error)
            return False, None
        ours = any(self._is_ours(m) for m in messages)
        if recall.from_redis:  # Redis had forgotten: remember what Slack said, either way
            await (self._memory.mark_participating(message.key) if ours else self._memory.mark_not_ours(message.key))
        return ours, messages

    def _is_ours(self, message: dict[str, Any]) -> bool:
        return message.get("user") == self.bot.user_id or message.get("bot_id") == self.bot.bot_id

    async def _answer(
        self, message: IncomingMessage, turn: Turn, recall: Recall, prefetched: list[dict[str, Any]] | None
    ) -> None:
        key = message.key
        budget = self._limits.daily_token_budget
        day = budget_day(message.ts)
        if budget and over_budget(await self._memory.usage.tokens_today(key.team_id, message.user_id, day), budget):
            # No model call: a short note, and the memory is left as it was.
            await turn.finish(None)
            await post_notice(self._client, key.channel_id, message.reply_thread_ts, budget_note(message.ts))
            return
        first_turn = recall.state is None and recall.from_redis  # unknown while Redis is away: no retitling
        mentioned = [u for u in mentioned_user_ids(message.text) if u != self.bot.user_id]
        speaker_names = await self._people.names(key.team_id, [message.user_id, *mentioned])
        context = TurnContext(
            speaker_id=message.user_id,
            speaker_name=speaker_names.get(message.user_id),
            place=describe_place(message, viewed_channel_id=recall.viewed_channel_id),
            people=speaker_names,
        )
        reply = Reply(
            self._writing,
            channel=key.channel_id,
            thread_ts=message.reply_thread_ts,
            team_id=key.team_id,
            recipient_team_id=message.user_team_id or key.team_id,
            user_id=message.user_id,
            stream_after=self._limits.instant_answer_seconds,
        )
        cue = StatusCue(
            self._client,
            channel=key.channel_id,
            thread_ts=message.reply_thread_ts,
            message_ts=message.ts,
            delay=self._limits.instant_answer_seconds,
        )
        if message.is_assistant_thread and first_turn:  # the thread's first question names it
            question = message.text or " ".join(str(f.get("name") or "") for f in message.files)
            title = thread_title(question, bot_user_id=self.bot.user_id, names=speaker_names)
            await set_thread_title(self._client, key, title)
        progress = ToolProgress(conversation=str(key), show_tasks=reply.show_tasks, show_line=cue.show_line)
        cue.start()  # just before the try whose finally clears it
        try:
            async with asyncio.timeout(self._limits.turn_timeout_seconds):
                agent = await self._agents.for_channel(key.channel_id)
                run = _Turn(agent, context, reply, progress)
                plan, output = await self._run(message, recall, run, speaker_names, prefetched)
            await reply.finish(output.text + sources_markdown(output.sources))
        except SlackApiError as error:
            logger.error(
                "Could not post the answer in %s: %s; the conversation was not advanced",
                key,
                error.response.get("error"),
            )
            return
        except Exception as error:
            logger.warning("Turn failed in %s: %s", key, describe_error(error))
            await reply.fail(phrases.NO_HISTORY if isinstance(error, HistoryUnavailable) else failure_phrase(error))
            await turn.finish(None)  # the memory stays as it was; the next message here is still answered
            return
        except asyncio.CancelledError:
            # Shutting down and this turn ran out of time: say so rather than leave the question hanging.
            await reply.fail(phrases.RESTARTING)
            raise
        finally:
            await cue.clear(replied=bool(reply.posted))
        logger.info(
            usage_line(
                str(key),
                model=model_name(agent),
                how=output.how,
                compacted=output.compacted,
                usage=output.usage,
            )
        )
        state = ThreadState(
            response_id=await self._model_memory.keep(key, plan, output),
            stored_at=time.time(),
            anchor_ts=message.ts,
            reset_ts=recall.state.reset_ts if recall.state else "",
            memory_mode=self._model_memory.mode,
        )
        await turn.finish(state)
        usage = output.usage
        await self._memory.usage.record(
            key, user_id=message.user_id, day=day, total=usage.total_tokens, counters=usage.counters()
        )

    async def _run(
        self,
        message: IncomingMessage,
        recall: Recall,
        turn: _Turn,
        speaker_names: dict[str, str],
        prefetched: list[dict[str, Any]] | None,
    ) -> tuple[RunPlan, TurnOutput]:
        """Continue the conversation's memory; when there is none, or it is gone, rebuild it from Slack."""
        key, memory = message.key, self._model_memory
        current = user_turn(message.text, user_id=message.user_id, names=speaker_names, bot_user_id=self.bot.user_id)
        if message.files:  # read once, here: later turns reach them through the chain
            room = self._limits.history_budget_chars - content_chars(current)
            current = with_files(current, await self._files.parts_of(message.files, text_budget=room))

        async def on_text(delta: str) -> None:
            turn.reply.add(delta)

        async def run(plan: RunPlan, how: str) -> tuple[RunPlan, TurnOutput]:
            output = await self._call_model(key, [*plan.history, current], turn, plan.run_options, on_text)
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
        room = self._limits.history_budget_chars - content_chars(current)
        earlier = await self._rebuild(message, recall, prefetched, room)
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

    async def _call_model(
        self,
        key: ConversationKey,
        items: list[dict[str, Any]],
        turn: _Turn,
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

    async def _confirm(self, message: IncomingMessage, text: str) -> None:
        try:
            await self._client.chat_postEphemeral(
                channel=message.key.channel_id,
                user=message.user_id,
                thread_ts=message.reply_thread_ts,
                text=text,
            )
        except SlackApiError as error:
            logger.warning("Could not confirm a reset in %s: %s", message.key, error.response.get("error"))


def model_name(agent: Agent[TurnContext]) -> str:
    return str(getattr(agent.model, "model", agent.model))


@dataclass(frozen=True)
class _Turn:
    """What one run works with: the channel's agent, who speaks where, and where its words and progress go."""

    agent: Agent[TurnContext]
    context: TurnContext
    reply: Reply
    progress: ToolProgress


async def post_reset_note(client: AsyncWebClient, key: ConversationKey, *, user_id: str) -> None:
    await client.chat_postMessage(
        channel=key.channel_id,
        thread_ts=key.thread_ts or None,
        text=phrases.RESET_THREAD_NOTE.format(user=user_id),
        metadata={"event_type": RESET_EVENT, "event_payload": {}},
    )


def describe_place(message: IncomingMessage, *, viewed_channel_id: str = "") -> str:
    beside = f" (the person has the channel <#{viewed_channel_id}> open beside it)" if viewed_channel_id else ""
    if message.is_assistant_thread:
        return "a chat in Slack's AI assistant pane" + beside
    if message.is_dm:
        return ("a direct message" if message.key.is_dm_running else "a thread of a direct message") + beside
    return f"a thread in the channel <#{message.key.channel_id}>"


def describe_error(error: BaseException) -> str:
    """A log line's worth of an error: its type and, for API errors, status and code; never a secret."""
    status = getattr(error, "status_code", None)
    code = getattr(error, "code", None)
    details = ", ".join(str(x) for x in (status, code) if x)
    return f"{type(error).__name__}({details})" if details else type(error).__name__
