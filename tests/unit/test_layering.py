"""The layering contracts in pyproject.toml hold, and they catch a break (import-linter)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO

CONTRACTS = {
    "Core never imports Qt",
    "Core never imports jobs, ui or cli",
    "jobs never imports ui",
    "ui never imports sqlalchemy, av or cv2",
}


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the project's contracts on the ``vru_desktop`` package found in ``root``."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            str(REPO / "pyproject.toml"),
            "--no-cache",
        ],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_contracts_are_kept() -> None:
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in CONTRACTS:
        assert f"{name} KEPT" in result.stdout


def test_a_bad_import_breaks_the_contracts(tmp_path: Path) -> None:
    shutil.copytree(
        REPO / "vru_desktop", tmp_path / "vru_desktop", ignore=shutil.ignore_patterns("__pycache__")
    )
    store = tmp_path / "vru_desktop" / "store" / "__init__.py"
    store.write_text(store.read_text() + "\nimport PySide6.QtCore\n")
    jobs = tmp_path / "vru_desktop" / "jobs" / "__init__.py"
    jobs.write_text(jobs.read_text() + "\nimport vru_desktop.ui.main_window\n")
    campaigns = tmp_path / "vru_desktop" / "campaigns" / "__init__.py"
    campaigns.write_text(campaigns.read_text() + "\nimport vru_desktop.jobs.queue\n")
    player = tmp_path / "vru_desktop" / "ui" / "viewer" / "player.py"
    lazy_av = "\n\ndef _start(path):\n    import av\n\n    return av.open(path)\n"
    player.write_text(player.read_text() + lazy_av)
    result = _lint(tmp_path)
    assert result.returncode == 1
    assert "Core never imports Qt BROKEN" in result.stdout
    assert "jobs never imports ui BROKEN" in result.stdout
    assert "vru_desktop.store -> PySide6" in result.stdout
    assert "Core never imports jobs, ui or cli BROKEN" in result.stdout
    assert "vru_desktop.campaigns -> vru_desktop.jobs.queue" in result.stdout
    assert "ui never imports sqlalchemy, av or cv2 BROKEN" in result.stdout
    assert "vru_desktop.ui.viewer.player -> av" in result.stdout
