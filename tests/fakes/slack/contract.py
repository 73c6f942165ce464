"""The contract the fake holds every call to: `tests/contract/slack_methods.json`, derived from Slack's method
reference (see `tests/contract/README.md`).

- A method the catalogue does not name is `unknown_method`, Slack's answer to a method it does not have.
- A missing required argument (absent: an empty string, e.g. a status that clears, is an argument) is
  `invalid_arguments`, Slack's common error for it (the pages list it among the
  errors of every method; Slack adds "[ERROR] missing required field: …" in `response_metadata.messages`).
- An argument the method does not document: Slack ignores it (its docs name no error for it; `invalid_arg_name`
  is for malformed names). The bot must not send one, so the fake answers `invalid_arguments` and records a
  violation, which fails the test (conftest checks every test's fake at teardown).
- An error code the fake answers must be documented for the method, or be one of the common errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CATALOGUE_PATH = Path(__file__).parents[2] / "contract" / "slack_methods.json"
# Answers that are not an error of a method page: Slack's answer to a method it does not know, and the
# 5xx answers the fake gives for `server_error_next` (docs.slack.dev/apis/web-api/#errors: HTTP 5xx).
GENERAL_ERRORS = frozenset({"unknown_method", "service_unavailable", "internal_error"})
# Arguments every method takes: the token (slack_sdk sends it as a header; the form field is accepted too).
UNIVERSAL_ARGS = frozenset({"token"})


@cache
def catalogue() -> dict[str, Any]:
    return dict(json.loads(CATALOGUE_PATH.read_text()))


def methods() -> dict[str, Any]:
    return dict(catalogue()["methods"])


def is_documented(method: str, error: str) -> bool:
    spec = methods().get(method)
    common = catalogue()["common_errors"]
    return error in GENERAL_ERRORS or error in common or (spec is not None and error in spec["errors"])


@dataclass(frozen=True)
class Violation:
    """A call our code should never make (or an answer the fake should never give): a test failure."""

    method: str
    problem: str

    def __str__(self) -> str:
        return f"{self.method}: {self.problem}"


def check_call(method: str, args: dict[str, Any]) -> tuple[str, Violation] | None:
    """The error Slack would answer and why, when a call breaks the method's documented contract; else None."""
    spec = methods().get(method)
    if spec is None:
        return "unknown_method", Violation(method, "not in the catalogue of Slack methods")
    documented = spec["args"]
    extra = sorted(set(args) - set(documented) - UNIVERSAL_ARGS)
    if extra:
        return "invalid_arguments", Violation(method, f"undocumented argument(s) {extra}")
    missing = sorted(name for name, required in documented.items() if required and args.get(name) is None)
    if missing:
        return "invalid_arguments", Violation(method, f"missing required argument(s) {missing}")
    return None


def one_of_missing(method: str, args: dict[str, Any]) -> bool:
    """True when the method needs one of several arguments (e.g. an append's text or chunks) and has none."""
    groups = methods().get(method, {}).get("one_of", [])
    return any(all(args.get(name) in (None, "", []) for name in group) for group in groups)
