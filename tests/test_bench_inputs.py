"""Bad options of the bench scripts for CTM on images, colourisation and guidance: \
refused with one line, nothing written."""
import os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}

def _run(script, *args):
    return subprocess.run([sys.executable, str(ROOT/"bench"/script), *args], capture_output=True, text=True, env=ENV,
                          timeout=300)

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

def test_guidance_refuses_bad_options(tmp_path):
    out, models = tmp_path/"out", tmp_path/"models"
    for args, msg in ((("--gate", "2", "1"), "--gate needs 0 < T_LOW < T_HIGH, got 2 1"),
                      (("--steps", "0"), "--steps must be a positive integer, got 0"),
                      (("--n_per_class", "0"), "--n_per_class must be a positive integer, got 0"),
                      (("--data", "cifar10"), "invalid choice: 'cifar10'"),
                      (("--preset", "huge"), "--preset must be one of"), (("--only", "cfg"), "invalid choice: 'cfg'"),
                      (("--confirm",), "--confirm needs --gate T_LOW T_HIGH and neither --only nor --igct"),
                      (("--confirm", "--gate", ".2", "2", "--only", "igct"), "--confirm needs --gate")):
        p = _run("guidance.py", *args, "--out", str(out), "--models", str(models))
        assert p.returncode == 2 and msg in p.stderr and len(p.stderr.strip().splitlines()[-1]) < 200, (args, p.stderr)
    assert list(tmp_path.iterdir()) == []
