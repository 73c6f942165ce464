"""A strict fake Slack for tests: real HTTP, held to the contract in tests/contract/slack_methods.json.

Modules: `server` (the HTTP server, knobs, Socket Mode), `contract` (the catalogue's checks), `store` (messages,
people, history), `methods` (posting, editing, reactions, status...), `streams` (chat streaming and its mode lock),
`checks` (blocks, markdown and chunk limits), `errors`.
"""

from .contract import Violation
from .errors import SlackError
from .server import BOT_SCOPES, RATE_TIERS, Call, FakeSlack, Refusal

__all__ = ["BOT_SCOPES", "RATE_TIERS", "Call", "FakeSlack", "Refusal", "SlackError", "Violation"]
