"""The fake OpenAI (server.py), its wire shapes (wire.py), errors (errors.py), strictness (contract.py),
streams (streams.py) and model side (model_side.py)."""

from .errors import CONTEXT_OVERFLOW_MESSAGE, DOCUMENTED, documented_error
from .server import FakeOpenAI, InvalidIdStyle, OverflowStyle, Reply, ReplyFn
from .wire import RecordedRequest, StoredResponse, count_tokens, split_text

__all__ = [
    "CONTEXT_OVERFLOW_MESSAGE",
    "DOCUMENTED",
    "FakeOpenAI",
    "InvalidIdStyle",
    "OverflowStyle",
    "RecordedRequest",
    "Reply",
    "ReplyFn",
    "StoredResponse",
    "count_tokens",
    "documented_error",
    "split_text",
]
