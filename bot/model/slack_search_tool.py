"""`search_slack`: the agent searches the workspace's messages as the person asking, and cites what it used."""

from __future__ import annotations

from agents import Agent, FunctionTool, RunContextWrapper, function_tool

from bot.model.agent import Source, TurnContext
from bot.model.quoting import quoted_block, source_title
from bot.shared.quoted import SearchFound

TOOL_NAME = "search_slack"
MAX_SOURCES = 8


def _enabled(wrapper: RunContextWrapper[TurnContext], _agent: Agent[TurnContext]) -> bool:
    """Only in turns started by a message event that carried the asker's action token."""
    return wrapper.context.workspace_search is not None


async def search_slack(wrapper: RunContextWrapper[TurnContext], query: str) -> str:
    """Search this Slack workspace's messages, as the person asking (only what they may see, and only what may
    be shown where you are talking). Use it for questions about what people said or decided in Slack.

    Args:
        query: Keywords or a short question, for example "decision on the Q3 launch date".
    """
    searcher = wrapper.context.workspace_search
    if searcher is None:
        return "Slack search is not available for this message."
    found = await searcher.search(query)
    return search_result_text(query, found, wrapper.context)


def search_result_text(query: str, found: SearchFound, context: TurnContext) -> str:
    """What the model reads back; the messages it was shown are kept to be listed under the answer."""
    if found.problem:
        return f"Slack search failed ({found.problem}). Tell the person you could not search Slack just now."
    left_out = (
        f" {found.left_out} more result(s) came from conversations that may not be shown here and were left out."
        if found.left_out
        else ""
    )
    if not found.messages:
        return f'No Slack messages found for "{query}" that can be shown here.{left_out}'
    known = {source.url for source in context.quoted_sources}
    for message in found.messages:
        if message.permalink not in known and len(context.quoted_sources) < MAX_SOURCES:
            context.quoted_sources.append(Source(title=source_title(message), url=message.permalink))
            known.add(message.permalink)
    heading = f'Slack messages found for "{query}" ({len(found.messages)}).{left_out}'
    return quoted_block(heading, found.messages)


def search_slack_tool() -> FunctionTool:
    return function_tool(search_slack, name_override=TOOL_NAME, is_enabled=_enabled)
