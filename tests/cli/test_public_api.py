"""Every module of ``actors.cli`` declares ``__all__`` with names it has, and stays small."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import actors.cli

MODULES = sorted(m.name for m in pkgutil.iter_modules(actors.cli.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_all_is_declared_and_resolves(name: str) -> None:
    module = importlib.import_module(f"actors.cli.{name}")
    assert isinstance(module.__all__, list) and module.__all__
    for symbol in module.__all__:
        assert hasattr(module, symbol), f"actors.cli.{name}.{symbol}"


@pytest.mark.parametrize("name", MODULES)
def test_modules_stay_small(name: str) -> None:
    path = Path(actors.cli.__path__[0]) / f"{name}.py"
    assert len(path.read_text().splitlines()) <= 450


def test_package_api() -> None:
    assert actors.cli.__all__ == ["CliContext", "UsageError", "build_parser",
                                  "exit_code_for_error", "main"]


def test_the_run_command_does_not_import_the_composition_root_for_help() -> None:
    code = ("import sys; from actors.cli import build_parser; build_parser(); "
            "print('actors.app' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "False", done.stderr


@pytest.mark.process
def test_python_dash_m_actors_main_help() -> None:
    done = subprocess.run([sys.executable, "-m", "actors.main", "--help"], check=False,
                          capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0
    for command in ("run", "resume", "status", "logs", "concurrency", "serve"):
        assert command in done.stdout
