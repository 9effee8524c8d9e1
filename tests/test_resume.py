("A run killed mid-way (SIGKILL) and resumed from its last checkpoint gives the same losses and "
 "weights as an uninterrupted one.")
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest
from safetensors.torch import load_file

SCRIPT = Path(__file__).parent/"scripts"/"toy_ct.py"
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}

def _run(out, *args):
    p = subprocess.run([sys.executable, str(SCRIPT), str(out), *args], capture_output=True, text=True, timeout=600,
                       env=ENV)
    assert p.returncode == 0, p.stdout + p.stderr

def test_kill_and_resume(tmp_path):
    a, b = tmp_path/"uninterrupted", tmp_path/"killed"
    _run(a, "--epochs", "5")
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(b), "--epochs", "5", "--slow", "0.05"], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ck = b/"ckpt"/"checkpoint.json"
    deadline = time.time() + 300
    while time.time() < deadline:
        if ck.exists() and json.loads(ck.read_text())["epoch"] >= 1: break
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL); proc.wait()
    killed_at = json.loads(ck.read_text())["epoch"]
    assert 1 <= killed_at < 4, "killed mid-run"
    assert not (b/"rank0.json").exists()
    _run(b, "--epochs", "5", "--resume")
    ha, hb = (json.loads((d/"rank0.json").read_text())["history"] for d in (a, b))
    assert [h["epoch"] for h in hb] == list(range(5))
    assert ha == hb, "resumed losses differ from the uninterrupted run"
    wa, wb = load_file(str(a/"rank0.safetensors")), load_file(str(b/"rank0.safetensors"))
    for k in wa: assert (wa[k] == wb[k]).all(), k
    assert not list((b/"ckpt").glob(".*tmp*")), "temporary files left behind"
    assert sorted(f.name for f in (b/"ckpt").iterdir()) == ["checkpoint.json", "optim-000004.safetensors",
                                                            "weights-000004.safetensors"]
