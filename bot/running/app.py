"""Builds the running bot: Slack client, Redis, the agent, the conversations, and the Bolt app."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from typing import Any

from agents import set_trace_processors
from agents.tracing.processors import BackendSpanExporter, BatchTraceProcessor
from openai import AsyncOpenAI
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import listeners
from bot.model.agent import build_agent
from bot.model.config import AgentConfigError, config_path, load_agent_config
from bot.model.memory import build_model_memory
from bot.model.options import ModelOptions
from bot.model.tools import AgentTools
from bot.model.usage import DailyBudgets
from bot.running.settings import Settings
from bot.running.usage_view import UsageView, ViewFacts
from bot.slack.admins import Admins
from bot.slack.assistant_pane import AssistantPane
from bot.slack.client import CountedWebClient, build_client
from bot.slack.files import MB, FileLimits, FileReader
from bot.slack.home_tab import HomeTab
from bot.slack.notes_home import RememberedNotes
from bot.slack.people import People
from bot.slack.user_groups import UserGroups
from bot.state.access_marks import AccessMarks
from bot.state.approvals import ApprovalStore
from bot.state.embedded_redis import EmbeddedRedis
from bot.state.feedback import FeedbackStore
from bot.state.keys import Keys
from bot.state.memory import Memory
from bot.state.notes import NotesStore
from bot.state.redis_link import RedisGuard, connect
from bot.turn.access import AccessGate
from bot.turn.approval_flow import ApprovalFlow
from bot.turn.conversation import Conversations, TurnLimits
from bot.turn.feedback import AnswerFeedback
from bot.turn.history import BotIdentity

logger = logging.getLogger(__name__)


class StartupError(Exception):
    """The bot cannot start; the message says why in one line."""


@dataclass
class Bot:
    settings: Settings
    bolt: AsyncApp
    conversations: Conversations
    guard: RedisGuard
    slack: AsyncWebClient
    openai: AsyncOpenAI
    embedded_redis: EmbeddedRedis | None = None
    tools: AgentTools | None = None
    home_tab: HomeTab | None = None
    usage_view: UsageView | None = None
    feedback: AnswerFeedback | None = None  # votes on answers; `feedback.tallies(team_id)` for the usage view
    notes: NotesStore | None = None  # long-term notes (kept even when LONG_TERM_MEMORY is off: nothing reads them)

    async def status(self) -> dict[str, Any]:
        return {
            "ok": True,
            "mode": "socket" if self.settings.socket_mode else "http",
            "redis": await self.guard.ping(),
        }

    async def close(self, drain_seconds: float = 20.0) -> None:
        await self.conversations.approvals.close()
        await self.conversations.drain(drain_seconds)
        if self.tools is not None:
            await self.tools.close()
        await self.guard.close()
        await self.openai.close()
        await self.slack.session.close()
        if self.embedded_redis is not None:
            await self.embedded_redis.aclose()


async def build_bot(settings: Settings, *, embedded_redis_dir: str = "data") -> Bot:
    slack = build_client(settings.slack_bot_token, settings.slack_api_url)
    try:
        auth = await slack.auth_test()
    except SlackApiError as error:
        await slack.session.close()
        raise StartupError(
            f"Slack refused SLACK_BOT_TOKEN ({error.response.get('error')}): "
            "copy the Bot User OAuth Token again from your app's OAuth & Permissions page."
        ) from None
    except Exception as error:
        await slack.session.close()
        raise StartupError(f"Cannot reach Slack at {settings.slack_api_url} ({type(error).__name__}).") from None
    try:
        return await _build_with(settings, slack, auth, embedded_redis_dir)
    except BaseException:
        await slack.session.close()
        raise


async def _build_with(settings: Settings, slack: AsyncWebClient, auth: Any, embedded_redis_dir: str) -> Bot:
    path = settings.agent_config or config_path({})
    try:
        agent_config = load_agent_config(path)
    except AgentConfigError as error:
        lines = "\n".join(f"  - {line}" for line in error.lines)
        raise StartupError(f"{error.path} has {len(error.lines)} mistake(s):\n{lines}") from None
    bot = BotIdentity(user_id=auth["user_id"], bot_id=auth.get("bot_id") or "", workspace_url=auth.get("url") or "")

    embedded = None
    redis_url = settings.redis_url
    if not redis_url:
        embedded = await asyncio.to_thread(EmbeddedRedis.start, embedded_redis_dir)
        redis_url = embedded.url
    redis = await connect(redis_url)
    guard = RedisGuard(redis.client)
    memory = Memory(
        guard,
        prefix=settings.redis_prefix,
        thread_ttl_seconds=int(settings.thread_memory_days * 86400),
        hash_tags=redis.cluster,
    )
    keys = Keys(settings.redis_prefix, hash_tags=redis.cluster)
    notes = NotesStore(guard, keys, max_notes=settings.memory_notes_max)
    guard.on_recovery = memory.replay_pending
    if not await guard.ping():
        logger.warning("Redis does not answer yet: the bot will answer from Slack history until it does")

    openai_client = AsyncOpenAI(
        api_key=settings.openai_api_key,
        timeout=settings.openai_timeout_seconds,
        max_retries=settings.openai_max_retries,
    )
    # Imported on first use otherwise: about half a second on the first answer.
    _ = openai_client.chat.completions if settings.openai_api == "chat_completions" else openai_client.responses
    _ = openai_client.conversations if settings.memory_mode == "conversations" else None
    configure_tracing(settings)
    model_memory = build_model_memory(
        settings.memory_mode,
        openai_client=openai_client,
        memory=memory,
        budget_chars=settings.history_budget_chars,
        max_visual=settings.history_max_images,
        encrypted_reasoning=settings.openai_api == "responses",
        retention_seconds=settings.response_retention_days * 86400,
    )
    logger.info("Memory mode: %s (model API: %s)", model_memory.mode, settings.openai_api)
    tools = AgentTools(
        agent_config,
        build=lambda model, extra: build_agent(
            model=model,
            client=openai_client,
            extra_instructions=extra,
            api=settings.openai_api,
            model_settings=model_memory.model_settings,
        ),
        default_model=settings.openai_model,
        base_instructions=settings.bot_instructions,
        long_term_memory=settings.long_term_memory,
        granted_scopes=granted_scopes(auth),
    )
    await tools.start()
    budgets = DailyBudgets(
        user=settings.daily_token_budget_per_user,
        channel=settings.daily_token_budget_per_channel,
        workspace=settings.daily_token_budget_per_workspace,
    )
    marks = AccessMarks(guard, keys)
    groups = UserGroups(slack, marks)  # members of user groups: access rules and approvers
    access = AccessGate(agent_config.access, client=slack, groups=groups, marks=marks)
    conversations = Conversations(
        client=slack,
        memory=memory,
        notes=notes if settings.long_term_memory else None,
        people=People(slack, memory),
        agents=tools,
        model_memory=model_memory,
        bot=bot,
        limits=TurnLimits(
            history_budget_chars=settings.history_budget_chars,
            turn_timeout_seconds=settings.openai_timeout_seconds * 1.5,
            instant_answer_seconds=settings.instant_answer_seconds,
            thread_memory_seconds=settings.thread_memory_days * 86400,
            budgets=budgets,
        ),
        files=FileReader(
            slack=slack,
            token=settings.slack_bot_token,
            openai_client=openai_client,
            limits=FileLimits(
                max_bytes=settings.max_file_mb * MB,
                inline_max_bytes=settings.file_inline_max_bytes,
                uploads_allowed=settings.file_uploads and model_memory.uploads_allowed,
                rebuild_max_visual=settings.history_max_images,
            ),
        ),
        options=ModelOptions(compact_threshold_tokens=settings.compact_threshold_tokens),
        access=access,
        approvals=ApprovalFlow(
            client=slack,
            store=ApprovalStore(guard, keys, ttl_seconds=settings.approval_timeout_seconds),
            agents=tools,
            groups=groups,
        ),
    )

    authorization = AuthorizeResult.from_auth_test_response(bot_token=settings.slack_bot_token, auth_test_response=auth)

    async def authorize(**_: Any) -> AuthorizeResult:
        return authorization  # one workspace, one token: the auth.test made at start-up, not another per process

    bolt = AsyncApp(
        # Bolt gives each request a copy of this client with the authorized token; the session is shared.
        client=CountedWebClient(base_url=slack.base_url, session=slack.session, retry_handlers=slack.retry_handlers),
        authorize=authorize,
        signing_secret=settings.slack_signing_secret,
        request_verification_enabled=not settings.socket_mode,
        logger=logging.getLogger("slack_bolt"),
    )
    pane = AssistantPane(slack, memory)
    home_tab = HomeTab(slack)  # features add their sections here
    usage_view = UsageView(
        memory.usage,
        Admins(slack, settings.admin_user_ids),
        ViewFacts(
            memory_mode=model_memory.mode, budgets=budgets, prices=agent_config.prices, mcp_health=tools.mcp.health
        ),
    )
    home_tab.add_section(usage_view.section)
    feedback = AnswerFeedback(slack, FeedbackStore(guard, keys))
    usage_view.feedback_tallies = feedback.tallies
    remembered = RememberedNotes(notes, enabled=settings.long_term_memory)
    home_tab.add_section(remembered.home_section)
    listeners.register(
        bolt, conversations, pane, home_tab, feedback, remembered=remembered, allowed_bot_ids=settings.allowed_bot_ids
    )
    conversations.approvals.start()  # marks requests nobody decided in time as expired
    return Bot(
        settings,
        bolt,
        conversations,
        guard,
        slack,
        openai_client,
        embedded,
        tools,
        home_tab,
        usage_view,
        feedback,
        notes,
    )


def granted_scopes(auth: Any) -> frozenset[str]:
    """The bot token's scopes, which Slack lists in the `x-oauth-scopes` header of every Web API answer."""
    headers = {str(k).lower(): v for k, v in (getattr(auth, "headers", None) or {}).items()}
    header = str(headers.get("x-oauth-scopes") or "")
    return frozenset(scope.strip() for scope in header.split(",") if scope.strip())


def configure_tracing(settings: Settings) -> None:
    """Traces go where the model calls go; the SDK exports them from a background thread."""
    base_url = os.environ.get("OPENAI_BASE_URL", "").rstrip("/")
    if base_url:
        exporter = BackendSpanExporter(api_key=settings.openai_api_key, endpoint=f"{base_url}/traces/ingest")
        set_trace_processors([BatchTraceProcessor(exporter)])
