"""What a turn leaves for the operators: its log line (or JSON fields), its metrics, and its share of the day's
counters (the budgets and the admins' usage view read them)."""

from __future__ import annotations

import logging
import time

from bot.model.agent import TurnOutput
from bot.model.usage import usage_fields, usage_line
from bot.shared import metrics
from bot.state.thread_state import ts_value
from bot.state.usage_counters import TurnCount
from bot.turn.routing import IncomingMessage

logger = logging.getLogger("bot.turn.conversation")  # where the usage line has always been logged


def account_for_answer(
    message: IncomingMessage,
    output: TurnOutput,
    *,
    model: str,
    seconds: float,
    first_shown_at: float | None,
    timed: bool = True,
) -> TurnCount:
    """Log the turn's usage line, record its metrics, and return what the day's counters add. `timed`: the
    latencies count (not for a turn resumed after an approval: a person's wait is not the bot's latency)."""
    fields = usage_fields(
        str(message.key), model=model, how=output.how, compacted=output.compacted, usage=output.usage, seconds=seconds
    )
    logger.info(usage_line(fields), extra={"turn": fields})
    usage = output.usage
    tokens = {"input": usage.input_tokens, "cached": usage.cached_tokens, "output": usage.output_tokens}
    metrics.TURNS.labels(outcome=output.how).inc()
    for kind, value in tokens.items():
        metrics.TOKENS.labels(kind=kind).inc(value)
    if timed:
        sent_at = float(ts_value(message.ts))
        now = time.time()
        metrics.ANSWER_SECONDS.observe(max(0.0, now - sent_at))
        metrics.FIRST_TEXT_SECONDS.observe(max(0.0, (first_shown_at or now) - sent_at))
    return TurnCount(
        user_id=message.user_id, channel_id=message.key.channel_id, model=model, outcome=output.how, tokens=tokens
    )


def account_for_failure(model_error: str | None) -> None:
    """A failed turn; `model_error` describes the error when the model run (or what it needed) failed."""
    metrics.TURNS.labels(outcome="failed").inc()
    if model_error is not None:
        metrics.MODEL_ERRORS.labels(kind=model_error).inc()
