"""The folders of `bot` show the architecture, and imports only go downward (the contract in pyproject.toml)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MAX_MODULE_LINES = 400


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_imports_only_go_downward():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_breaks_the_contract(tmp_path):
    shutil.copytree(ROOT / "bot", tmp_path / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    upward = tmp_path / "bot" / "state" / "thread_state.py"
    upward.write_text(upward.read_text() + "\nfrom bot.turn import routing  # noqa: E402\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "bot.state.thread_state -> bot.turn.routing" in result.stdout


def test_every_room_says_what_lives_there_and_what_it_may_import():
    for init in (ROOT / "bot").glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "import" in doc, f"{init.relative_to(ROOT)} has no docstring saying what it may import"


def test_no_module_has_grown_past_one_job():
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "bot").rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"split these along their jobs: {long}"
