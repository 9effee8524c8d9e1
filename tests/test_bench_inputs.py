"""Bad options of the bench scripts added for CTM on images and colourisation: refused with one line, nothing written."""
import os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}

def _run(script, *args):
    return subprocess.run([sys.executable, str(ROOT/"bench"/script), *args], capture_output=True, text=True, env=ENV, timeout=300)

def test_ctm_images_refuses_bad_counts(tmp_path):
    for opt in ("--steps", "--n-samples", "--classifier-epochs"):
        p = _run("ctm_images.py", opt, "0", "--out", str(tmp_path))
        assert p.returncode == 2 and f"{opt} must be at least 1, got 0" in p.stderr, (opt, p.stderr)
    p = _run("ctm_images.py", "--data", "cifar10", "--out", str(tmp_path))
    assert p.returncode == 2 and "invalid choice: 'cifar10'" in p.stderr
    assert list(tmp_path.iterdir()) == []

def test_applications_refuses_unknown_part(tmp_path):
    p = _run("applications.py", "--parts", "colour", "faces", "--out", str(tmp_path))
    assert p.returncode == 2 and "invalid choice: 'faces'" in p.stderr
    assert list(tmp_path.iterdir()) == []
