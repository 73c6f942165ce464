"""The one place tools are set up and handed to the agent: per channel, the model, instructions and tools on."""

from __future__ import annotations

import logging
from collections.abc import Callable

from agents import Agent, OpenAIResponsesModel, Tool, WebSearchTool

from bot.model.agent import TurnContext
from bot.model.config import AgentConfig, approval_rule, setup_for_channel
from bot.model.mcp_servers import McpServers
from bot.model.note_tools import NOTE_TOOLS
from bot.model.slack_search_tool import search_slack_tool
from bot.shared.quoted import SEARCH_SCOPE

logger = logging.getLogger(__name__)

BuildAgent = Callable[[str, str], Agent[TurnContext]]  # (model, extra instructions) -> agent


def supports_hosted_tools(agent: Agent[TurnContext]) -> bool:
    """OpenAI's hosted tools (web search) exist only in the Responses API."""
    return isinstance(agent.model, OpenAIResponsesModel)


class AgentTools:
    """Gives each turn the agent its channel calls for: model, instructions, web search, MCP servers."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        build: BuildAgent,
        default_model: str,
        base_instructions: str = "",
        long_term_memory: bool = False,
        granted_scopes: frozenset[str] = frozenset(),
    ) -> None:
        self.config = config
        self._build = build
        self._default_model = default_model
        self._base_instructions = base_instructions
        self.long_term_memory = long_term_memory  # the notes tools (remember, forget, list_notes) on every agent
        self._agents: dict[tuple[str, str], Agent[TurnContext]] = {}
        self._web_search_refused = False
        self.mcp = McpServers(config.mcp_servers, self._needs_approval if config.has_approvals else None)
        # Slack search is on by default where the bot token holds its scope; agent.toml may turn it off.
        self.granted_scopes = granted_scopes  # the bot token's, from the start-up auth.test
        self.slack_search_granted = SEARCH_SCOPE in granted_scopes
        self._search_slack = search_slack_tool()

    def _needs_approval(self, channel_id: str, server: str, tool: str) -> bool:
        return approval_rule(self.config, channel_id, server, tool).needed

    def approvers(self, channel_id: str, server: str, tool: str) -> tuple[str, ...]:
        """Who may decide a call (user and user group ids); empty: only the person who asked."""
        return approval_rule(self.config, channel_id, server, tool).approvers

    @property
    def max_turns(self) -> int:
        return self.config.max_turns

    async def start(self) -> None:
        """Connect the MCP servers (those down are left out, not fatal) and say what is on."""
        await self.mcp.start()
        if self.config.path:
            logger.info(
                "Agent set-up from %s: web search %s, Slack search %s, %d MCP server(s), %d channel section(s)",
                self.config.path,
                "on" if self.config.web_search else "off",
                "on" if self.slack_search_on("") else "off",
                len(self.config.mcp_servers),
                len(self.config.channels),
            )

    async def close(self) -> None:
        await self.mcp.close()

    def slack_search_on(self, channel_id: str) -> bool:
        """The scope is granted and agent.toml leaves it on (at the top, and in this channel's section)."""
        return self.slack_search_granted and setup_for_channel(self.config, channel_id).slack_search

    async def for_channel(self, channel_id: str) -> Agent[TurnContext]:
        setup = setup_for_channel(self.config, channel_id)
        agent = self._agent(setup.model or self._default_model, setup.instructions)
        tools: list[Tool] = [WebSearchTool()] if setup.web_search and self._web_search_allowed(agent) else []
        if self.long_term_memory:
            tools += NOTE_TOOLS
        if self.slack_search_granted and setup.slack_search:
            tools.append(self._search_slack)  # offered only in turns that carry an action token (is_enabled)
        servers = await self.mcp.usable(setup.mcp_servers)
        if not tools and not servers:
            return agent
        return agent.clone(tools=tools, mcp_servers=servers)

    def _agent(self, model: str, instructions: str) -> Agent[TurnContext]:
        extra = "\n\n".join(part for part in (self._base_instructions, instructions) if part)
        key = (model, extra)
        if key not in self._agents:
            self._agents[key] = self._build(model, extra)
        return self._agents[key]

    def _web_search_allowed(self, agent: Agent[TurnContext]) -> bool:
        if supports_hosted_tools(agent):
            return True
        if not self._web_search_refused:
            self._web_search_refused = True
            logger.warning(
                "web_search is on in %s, but this memory mode does not use the Responses API, "
                "where OpenAI's hosted web search lives: it is left out",
                self.config.path,
            )
        return False
