import os, sys, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

@pytest.fixture
def run_cli():
    "Run a console script of this package's environment; return the CompletedProcess (text)."
    def _run(name, *args, timeout=600, env=None, check=True):
        exe = BIN/name
        p = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, **(env or {})}, cwd=ROOT)
        if check and p.returncode != 0: raise AssertionError(f"{name} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p
    return _run
