"""The README's transcript is made by tests/make_transcript.py: it must keep running and showing a real session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent / "make_transcript.py"


def test_the_readme_transcript_can_be_made_again():
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    transcript = result.stdout
    assert "**A thread in #general**" in transcript
    assert "_(streamed in" in transcript  # the answer arrived in pieces
    assert "Hi! Ask me anything" in transcript  # the greeting in the assistant pane
    assert "_(attached: `screenshot.png` (PNG))_" in transcript
    assert "`connection refused` on port **5432**" in transcript  # the model saw the screenshot
    assert "Calling `lookup_ticket`… (complete)" in transcript  # a tool call, shown while it ran
    assert "1. [Fire safety at work](https://www.osha.gov/fire-safety)" in transcript  # and the sources
    assert "Traceback" not in transcript
