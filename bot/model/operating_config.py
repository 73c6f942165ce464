"""The admins' sections of the agent configuration file: `[access]` (who may use the bot, and where) and
`[prices]` (what a million tokens of each model cost, for the usage view's estimates).

`config.py` reads the file and hands these sections here; mistakes are reported one line each, as for the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

_ACCESS_KEYS = {"channels", "people", "deny", "dms"}
_PRICE_KEYS = {"input", "cached", "output"}
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]+$")
_PERSON_ID = re.compile(r"^[UW][A-Z0-9]+$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]+$")


@dataclass(frozen=True)
class AccessConfig:
    """None for `channels` or `people`: no limit of that kind."""

    channels: frozenset[str] | None = None
    people: frozenset[str] | None = None  # user ids
    groups: frozenset[str] = frozenset()  # user group ids whose members count as `people`
    deny: frozenset[str] = frozenset()
    dms: bool = True


@dataclass(frozen=True)
class ModelPrice:
    """US dollars per million tokens; `cached` input tokens are billed at `cached` instead of `input`."""

    input: float = 0.0
    cached: float = 0.0
    output: float = 0.0

    def cost(self, *, input_tokens: int, cached_tokens: int, output_tokens: int) -> float:
        uncached = max(0, input_tokens - cached_tokens)
        return (uncached * self.input + cached_tokens * self.cached + output_tokens * self.output) / 1_000_000


@dataclass(frozen=True)
class Prices:
    models: Mapping[str, ModelPrice] = field(default_factory=dict)

    def of(self, model: str) -> ModelPrice | None:
        return self.models.get(model)


Mistake = Callable[[str], None]


def parse_access(raw: Any, mistake: Mistake) -> AccessConfig:
    if raw is None:
        return AccessConfig()
    if not isinstance(raw, dict):
        mistake("[access] must be a table")
        return AccessConfig()
    for key in raw:
        if key not in _ACCESS_KEYS:
            mistake(f"[access]: unknown key {key!r} (known: {', '.join(sorted(_ACCESS_KEYS))})")
    channels = _ids(raw, "channels", _CHANNEL_ID, "a channel id (like C0123ABCD)", mistake)
    people = _ids(
        raw,
        "people",
        re.compile(f"{_PERSON_ID.pattern}|{_GROUP_ID.pattern}"),
        "a user or user group id (like U0123ABCD or S0123ABCD)",
        mistake,
    )
    deny = _ids(raw, "deny", _PERSON_ID, "a user id (like U0123ABCD)", mistake)
    dms = raw.get("dms", True)
    if not isinstance(dms, bool):
        mistake("[access]: dms must be true or false")
        dms = True
    return AccessConfig(
        channels=channels,
        people=None if people is None else frozenset(p for p in people if not _GROUP_ID.match(p)),
        groups=frozenset(p for p in people or () if _GROUP_ID.match(p)),
        deny=deny or frozenset(),
        dms=dms,
    )


def parse_prices(raw: Any, mistake: Mistake) -> Prices:
    if raw is None:
        return Prices()
    if not isinstance(raw, dict):
        mistake("[prices] must be a table")
        return Prices()
    models: dict[str, ModelPrice] = {}
    for model, section in raw.items():
        where = f'[prices."{model}"]'
        if not isinstance(section, dict):
            mistake(f"{where} must be a table (input, cached, output: dollars per million tokens)")
            continue
        values: dict[str, float] = {}
        for key, value in section.items():
            if key not in _PRICE_KEYS:
                mistake(f"{where}: unknown key {key!r} (known: {', '.join(sorted(_PRICE_KEYS))})")
            elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                mistake(f"{where}: {key} must be a number of dollars per million tokens, at least 0")
            else:
                values[key] = float(value)
        values.setdefault("cached", values.get("input", 0.0))
        models[model] = ModelPrice(**values)
    return Prices(models)


def _ids(
    raw: Mapping[str, Any], key: str, pattern: re.Pattern[str], what: str, mistake: Mistake
) -> frozenset[str] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        mistake(f"[access]: {key} must be a list of ids")
        return None
    for item in value:
        if not pattern.match(item):
            mistake(f"[access]: {key} has {item!r}, which is not {what}")
    return frozenset(value)
