"""The agent: its instructions, and one streamed run chained with `previous_response_id`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import openai
from agents import (
    Agent,
    Model,
    ModelBehaviorError,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunConfig,
    RunContextWrapper,
    Runner,
    RunState,
)
from agents.items import MessageOutputItem, ToolApprovalItem, ToolCallItem, ToolCallOutputItem
from agents.models.default_models import get_default_model_settings
from openai import AsyncOpenAI

from bot.model.errors import ContextOverflow, StreamFailed, is_context_overflow, stream_failure
from bot.model.usage import TurnUsage
from bot.shared.quoted import SearchFound

if TYPE_CHECKING:
    from bot.model.note_tools import NotesScope

BASE_INSTRUCTIONS = """\
You are a helpful assistant in a Slack workspace. Several people may talk to you in one thread: \
every user message starts with its author as "Name (<@USERID>):", and ends with the ids of the people \
it mentions. Answer the latest message, keeping in mind who said what. To mention someone, write <@USERID> exactly. \
Write in GitHub-flavoured Markdown (headings, lists, tables, fenced code) and keep answers as \
short as the question allows."""


class WorkspaceSearcher(Protocol):
    """Searches Slack as the person asking, keeping only what this place may show (bot.slack.workspace_search)."""

    async def search(self, query: str) -> SearchFound: ...


@dataclass(frozen=True)
class Source:
    title: str
    url: str


@dataclass(frozen=True)
class TurnContext:
    """Who is speaking and where. Only the place goes into the instructions, which are then the same on every
    turn of a conversation (a prefix the prompt cache can reuse); the user turn itself names its author."""

    speaker_id: str
    speaker_name: str | None
    place: str  # e.g. "a direct message" or "a thread in the channel <#C123>"
    people: dict[str, str] = field(default_factory=dict)  # user id -> name, for those mentioned
    # Long-term notes this turn may read and write (the speaker's, the channel's); None: long-term memory is off.
    notes: NotesScope | None = field(default=None, compare=False, repr=False)
    # The `action_token` of the message event that started the turn: Slack's search acts as its author.
    action_token: str = field(default="", repr=False)
    # Searching the workspace for this turn (None: not here, not now); `search_slack` uses it.
    workspace_search: WorkspaceSearcher | None = field(default=None, compare=False, repr=False)
    # Tool calls that failed in this run (noted by the tools' failure handler, read for progress and logs).
    failed_tool_calls: set[str] = field(default_factory=set, compare=False, repr=False)
    # Slack messages the tools showed the model, listed under the answer as permalinks.
    quoted_sources: list[Source] = field(default_factory=list, compare=False, repr=False)
    channel_id: str = ""  # where the turn is: which tool calls need approval depends on it

    def to_json(self) -> dict[str, Any]:
        """For a paused run's saved state (the SDK's `context_serializer`). Not kept: the search action token (it
        expires with the event) and the searcher, so a resumed turn does not search Slack."""
        return {
            "speaker_id": self.speaker_id,
            "speaker_name": self.speaker_name,
            "place": self.place,
            "people": dict(self.people),
            "failed_tool_calls": sorted(self.failed_tool_calls),
            "channel_id": self.channel_id,
            "quoted_sources": [{"title": q.title, "url": q.url} for q in self.quoted_sources],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TurnContext:
        return cls(
            speaker_id=str(data.get("speaker_id") or ""),
            speaker_name=data.get("speaker_name"),
            place=str(data.get("place") or ""),
            people=dict(data.get("people") or {}),
            failed_tool_calls=set(data.get("failed_tool_calls") or ()),
            channel_id=str(data.get("channel_id") or ""),
            quoted_sources=[Source(str(q["title"]), str(q["url"])) for q in data.get("quoted_sources") or ()],
        )


@dataclass(frozen=True)
class AwaitingCall:
    """A tool call the run stopped at, waiting for a person to approve or reject it."""

    call_id: str
    tool: str
    server: str  # the MCP server offering the tool ("" for other tools)
    arguments: str  # as the model wrote them (JSON text)


@dataclass(frozen=True)
class PausedRun:
    """A run interrupted for approval: the SDK's serialized RunState and the calls it waits on."""

    state: str
    calls: tuple[AwaitingCall, ...]


@dataclass(frozen=True)
class TurnOutput:
    text: str
    response_id: str  # "" where the model server has none (Chat Completions)
    usage: TurnUsage = field(default_factory=TurnUsage)
    compacted: bool = False  # OpenAI compacted the context in this turn
    how: str = ""  # how the context was given: chained, rebuilt, new, or the message alone
    sources: tuple[Source, ...] = ()  # web pages the answer cites (url_citation annotations)
    items: list[dict[str, Any]] = field(default_factory=list)  # the run's input and everything it produced
    paused: PausedRun | None = None  # the run waits for approval of a tool call: nothing is answered yet


@dataclass(frozen=True)
class ToolActivity:
    """A tool call starting or ending inside a run; `name` is "web_search" for OpenAI's hosted search."""

    call_id: str
    name: str
    state: Literal["started", "done", "failed"]


WEB_SEARCH = "web_search"
FAILED_RESULT = "failed"  # a tool output's custom data key: the tool itself reported an error


def build_agent(
    *,
    model: str,
    client: AsyncOpenAI,
    extra_instructions: str = "",
    api: str = "responses",
    model_settings: Callable[[ModelSettings], ModelSettings] = lambda settings: settings,
) -> Agent[TurnContext]:
    """`model_settings` adjusts the model's defaults to where memory lives (store, included reasoning)."""

    def instructions(wrapper: RunContextWrapper[TurnContext], _agent: Agent[TurnContext]) -> str:
        return turn_instructions(wrapper.context, extra_instructions)

    chat: Model = (
        OpenAIChatCompletionsModel(model=model, openai_client=client)
        if api == "chat_completions"
        else OpenAIResponsesModel(model=model, openai_client=client)
    )
    return Agent[TurnContext](
        name="Slack assistant",
        instructions=instructions,
        model=chat,
        model_settings=model_settings(get_default_model_settings(model)),
    )


def turn_instructions(context: TurnContext, extra: str = "") -> str:
    """Byte-identical for every turn of a conversation: nothing here names the speaker."""
    lines = [BASE_INSTRUCTIONS, f"You are talking in {context.place}."]
    if extra:
        lines.append(extra)
    return "\n\n".join(lines)


async def run_turn(
    agent: Agent[TurnContext],
    input_items: list[dict[str, Any]] | RunState[TurnContext, Agent[TurnContext]],
    *,
    context: TurnContext,
    run_options: dict[str, Any],
    on_text: Callable[[str], Awaitable[None]],
    settings: ModelSettings | None = None,
    on_tool: Callable[[ToolActivity], Awaitable[None]] | None = None,
    max_turns: int = 10,
) -> TurnOutput:
    """Run one turn (tool calls included), handing each piece of text to `on_text` as the model writes it
    and each tool call's start and end to `on_tool`.

    `run_options` are the Agents SDK's memory arguments (`previous_response_id`, `conversation_id`);
    `settings` (this conversation's cache key, compaction) go with this run only, over the agent's own.
    `input_items` may be a paused run's state with its decisions made (`resumed_state`): the run goes on.
    A run that reaches a tool call needing approval returns with `paused` set and no answer."""
    result = Runner.run_streamed(
        agent,
        input_items,  # type: ignore[arg-type]
        context=context,
        max_turns=max_turns,
        run_config=RunConfig(model_settings=settings) if settings is not None else None,
        **run_options,
    )
    compacted = False
    streamed = ""
    text_item = ""
    tool_names: dict[str, str] = {}
    try:
        async for event in result.stream_events():
            if event.type == "raw_response_event":
                data = event.data
                if data.type == "response.output_text.delta":
                    if streamed and data.item_id != text_item:  # a later message of the run: a new paragraph
                        await on_text("\n\n")
                        streamed += "\n\n"
                    text_item = data.item_id
                    streamed += data.delta
                    await on_text(data.delta)
                elif (failed := stream_failure(data)) is not None:
                    # Stop at the terminal event: the run has nothing more to give, and the SDK's own close of a
                    # failed stream has been seen not to finish (see tests/contract/OPENAI.md).
                    raise failed
                elif on_tool is not None:
                    activity = web_search_activity(data)
                    if activity is not None:
                        await on_tool(activity)
            elif event.type == "run_item_stream_event":
                if event.item.type == "compaction_item":
                    compacted = True
                elif on_tool is not None:
                    activity = function_tool_activity(event.item, tool_names, context)
                    if activity is not None:
                        await on_tool(activity)
    except (openai.APIError, ModelBehaviorError, StreamFailed) as error:
        # Whatever class it arrives as (an HTTP error, an `error` event raised by the openai SDK, the Agents SDK's
        # ModelBehaviorError, or the terminal event itself), an overflow is told by its code.
        result.cancel()
        if is_context_overflow(error):
            raise ContextOverflow() from error
        raise  # whether the memory is gone is the memory mode's to say (ModelMemory.is_gone)
    except BaseException:
        result.cancel()
        raise
    if result.interruptions:
        return TurnOutput(
            text=streamed,
            response_id="",
            usage=TurnUsage.of_run(result.context_wrapper.usage),
            paused=PausedRun(
                state=result.to_state().to_string(context_serializer=_context_json),
                calls=tuple(awaiting_call(item) for item in result.interruptions),
            ),
        )
    text = streamed or str(result.final_output or "")
    return TurnOutput(
        text=text,
        response_id=result.last_response_id or "",
        sources=_with_quoted(cited_sources(result.new_items), context.quoted_sources, text),
        usage=TurnUsage.of_run(result.context_wrapper.usage),
        compacted=compacted or any(i.type == "compaction_item" for i in result.new_items),
        items=[dict(item) for item in result.to_input_list()],
    )


def _context_json(context: Any) -> Mapping[str, Any]:
    return context.to_json() if isinstance(context, TurnContext) else {}


def awaiting_call(item: ToolApprovalItem) -> AwaitingCall:
    origin = item.tool_origin
    return AwaitingCall(
        call_id=item.call_id or "",
        tool=item.name or "",
        server=(origin.mcp_server_name or "") if origin is not None else "",
        arguments=item.arguments or "",
    )


async def resumed_state(
    agent: Agent[TurnContext], paused: PausedRun, *, approved: bool, refusal: str
) -> RunState[TurnContext, Agent[TurnContext]]:
    """The paused run, restored with every call it waits on approved, or rejected with `refusal` told to the model.

    `agent` must offer the same MCP servers in the same order as when the run paused (the SDK's binding check)."""
    state: RunState[TurnContext, Agent[TurnContext]] = await RunState.from_string(
        agent, paused.state, context_deserializer=TurnContext.from_json
    )
    for item in state.get_interruptions():
        if approved:
            state.approve(item)
        else:
            state.reject(item, rejection_message=refusal)
    return state


def web_search_activity(data: Any) -> ToolActivity | None:
    """OpenAI's hosted web search runs inside one response: its progress comes as raw stream events."""
    if data.type == "response.web_search_call.in_progress":
        return ToolActivity(data.item_id, WEB_SEARCH, "started")
    if data.type == "response.web_search_call.completed":
        return ToolActivity(data.item_id, WEB_SEARCH, "done")
    item = getattr(data, "item", None)
    ended = data.type == "response.output_item.done" and getattr(item, "type", "") == "web_search_call"
    if ended and item.status in ("failed", "incomplete"):
        return ToolActivity(item.id, WEB_SEARCH, "failed")
    return None


def function_tool_activity(item: Any, names: dict[str, str], context: TurnContext) -> ToolActivity | None:
    """Function tools (MCP tools among them) run between model calls: the SDK reports them as run items."""
    if isinstance(item, ToolCallItem) and getattr(item.raw_item, "type", "") == "function_call":
        raw = item.raw_item
        names[raw.call_id] = raw.name  # type: ignore[union-attr]
        return ToolActivity(raw.call_id, raw.name, "started")  # type: ignore[union-attr]
    if isinstance(item, ToolCallOutputItem):
        call_id = item.call_id or ""
        if call_id not in names:
            return None
        failed = call_id in context.failed_tool_calls or bool((item.custom_data or {}).get(FAILED_RESULT))
        return ToolActivity(call_id, names[call_id], "failed" if failed else "done")
    return None


def cited_sources(items: list[Any]) -> tuple[Source, ...]:
    """The pages the answer cites (`url_citation` annotations), each once, in the order they are cited."""
    sources: dict[str, Source] = {}
    for item in items:
        if not isinstance(item, MessageOutputItem):
            continue
        for part in item.raw_item.content:
            for annotation in getattr(part, "annotations", None) or []:
                if getattr(annotation, "type", "") == "url_citation" and annotation.url not in sources:
                    sources[annotation.url] = Source(title=annotation.title or annotation.url, url=annotation.url)
    return tuple(sources.values())


def _with_quoted(cited: tuple[Source, ...], quoted: list[Source], text: str) -> tuple[Source, ...]:
    """The web pages cited, then the Slack messages used: those the answer links, or (when it links none) every
    message the tools showed the model."""
    used = [source for source in quoted if source.url in text] or quoted
    urls = {source.url for source in cited}
    return cited + tuple(source for source in used if source.url not in urls)
