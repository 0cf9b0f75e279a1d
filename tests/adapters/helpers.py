"""Helpers of the adapter tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def run_example(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``examples/SCRIPT ARGS`` as a user would (a fresh process, the repository importable);
    fail the test with its stderr when it exits non-zero."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc
