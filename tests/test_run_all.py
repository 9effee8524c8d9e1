"""bench/run_all.py: the item list (every results script of bench/ is in it), quick results kept apart from the full
ones, bad items refused before any work, and one real item end to end (the CTM toys at small settings)."""
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"bench"))
import run_all

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}

def test_items_cover_the_bench_scripts(tmp_path):
    full, quick = run_all.items(tmp_path, False), run_all.items(tmp_path, True)
    used = {Path(c[1]).name for c in full.values() if c[0] == run_all.PY}
    helpers = {"run_all.py", "gpu_check.py", "threads.py", "guidance_gate.py"}   # GPU-only, a thread study, a one-off experiment
    assert {p.name for p in (ROOT/"bench").glob("*.py")} - helpers <= used
    assert set(quick) == set(full) - {"mnist_cpu"}       # the 1.3 CPU-hour pair is full-only
    for k, cmd in quick.items():                          # every quick output lands under the given folder
        outs = [cmd[i + 1] for i, a in enumerate(cmd) if a in ("--out", "--results", "--ckpt-dir", "--runs")]
        assert outs and all(Path(o).is_relative_to(tmp_path) for o in outs), (k, cmd)

def test_quick_default_folder_is_not_the_full_one():
    p = subprocess.run([sys.executable, str(ROOT/"bench"/"run_all.py"), "--quick", "--list"], capture_output=True, text=True, env=ENV)
    assert p.returncode == 0
    assert f"{ROOT}/bench/results/quick/" in p.stdout and f"--out {ROOT}/bench/results " not in p.stdout

def test_unknown_item_is_refused(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT/"bench"/"run_all.py"), "--only", "fig1", "figure9", "--out", str(tmp_path)],
                       capture_output=True, text=True, env=ENV)
    assert p.returncode == 2 and "unknown item(s) figure9; expected some of: fig1," in p.stderr
    assert list(tmp_path.iterdir()) == []                # nothing written

def test_one_item_end_to_end(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT/"bench"/"run_all.py"), "--quick", "--only", "ctm", "--out", str(tmp_path)],
                       capture_output=True, text=True, env=ENV, timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "[1/1] ctm: ok in" in p.stdout and "1 of 1 items ok" in p.stdout
    log = json.loads((tmp_path/"run_all.json").read_text())
    assert [e["item"] for e in log["items"]] == ["ctm"] and log["items"][0]["ok"]
    res = json.loads((tmp_path/"ctm_toy.json").read_text())
    for toy, r in res["toys"].items():
        assert r["steps"] == 300
        assert set(r["w1"]) == set(r["exact_w1"]) == {"1-NFE", "gamma=0.0", "gamma=0.3", "gamma=0.6", "gamma=1.0"}
        assert r["goal_met"] == (r["jump_error"] < 0.05)
    assert (tmp_path/"ctm_toy_jumps.png").stat().st_size > 0 and (tmp_path/"ctm_toy_gamma.png").stat().st_size > 0
