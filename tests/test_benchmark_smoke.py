"""The benchmark command keeps working: a few turns of every figure, against every app it compares.

No timing is asserted (speed belongs in the full benchmark run); only that every figure was measured.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness import env_for_subprocess

REPO_ROOT = Path(__file__).resolve().parent.parent

EXPECTED_ROWS = (
    "1. model request at turn 2 (bytes)",
    "1. growth: turn 3 ÷ turn 2",
    "2. event → answer posted, p50",
    "2. event → answer posted, p99",
    "2. the app's CPU time per turn",
    "2. Slack API calls per turn",
    "2. Redis commands per turn",
    "2. Redis round trips per turn",
    "3. 5 mentions at once",
    "3. HTTP ack to Slack meanwhile, p99",
    "3. the same, `python -m bot` with WEB_CONCURRENCY=1: all answered",
    "3. WEB_CONCURRENCY=1: HTTP ack p99",
    "4. rebuild a 250-message thread",
    "4. the bot's own share",
    "4. the next turn in that thread",
    "5. app RSS when started, idle",
    "5. Redis bytes per remembered thread",
    "5. bot RSS after",
    "6. uncached input tokens at turn 2, of all input",
    "6. cached share of input tokens",
    "7. model request at turn 2 (bytes)",
    "7. Redis bytes for the thread after",
    "7. Slack API calls per turn",
    "7. p50 ÷ floor's p50",
)


def test_the_smoke_benchmark_prints_every_figure_for_the_bot_the_baseline_the_sdk_handler_and_the_floor() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke"],
        cwd=REPO_ROOT,
        env=env_for_subprocess(),
        capture_output=True,
        text=True,
        timeout=420,  # the apps start slowly on a loaded machine; no timing is asserted here
    )

    assert run.returncode == 0, run.stderr[-3000:] + run.stdout[-3000:]
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in run.stdout.splitlines() if line.startswith("| ")}
    for expected in EXPECTED_ROWS:
        row = next((line for name, line in rows.items() if name.startswith(expected)), None)
        assert row is not None, f"no row {expected!r} in:\n{run.stdout}"
        assert "| — | — | — |" not in row, f"nothing measured in {row}"
    # Every app answered: the bot chained (a flat payload), the baseline re-sent the thread, the floor posted once.
    growth = rows[next(n for n in rows if n.startswith("1. growth"))]
    bot, baseline = (float(cell.strip().rstrip("×")) for cell in growth.split(" | ")[1:3])
    assert bot < baseline
    assert "ERRORS" not in run.stdout
