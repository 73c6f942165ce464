"""Benchmarks: the bot against a naive baseline and a bare floor handler, on the tests' fakes and a real Redis.

Run from the repository root: `python -m benchmarks` (or `python -m benchmarks --smoke`).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The fake Slack, the fake OpenAI and the harness live with the tests; the benchmarks reuse them as they are.
TESTS_DIR = Path(__file__).resolve().parent.parent / "tests"
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))
