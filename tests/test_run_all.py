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
    helpers = {"run_all.py", "gpu_check.py", "gpu_wheels.py", "harness.py"}   # itself, GPU-only scripts, a library
    assert {p.name for p in (ROOT/"bench").glob("*.py")} - helpers <= used
    assert set(quick) == set(full) - {"mnist_cpu", "guidance_mnist_igct", "guidance_mnist_baselines",
                                      "guidance_mnist",      # CPU hours: full-only
                                      "default_job_quiet",   # a timing run, alone
                                      "guidance_seed3", "guidance_seed4",   # two seeds suffice to check the item
                                      *(f"guidance_confirm{s}" for s in range(6, 10)),   # one confirmation seed
                                      "recipe_1200"}   # its config fixes 1,200 steps: no quick version
    for k, cmd in quick.items():                          # every quick output lands under the given folder
        outs = [cmd[i + 1] for i, a in enumerate(cmd)
                if a in ("--out", "--results", "--ckpt-dir", "--runs", "--models")]
        assert outs and all(Path(o).is_relative_to(tmp_path) for o in outs), (k, cmd)

def test_quick_default_folder_is_not_the_full_one():
    p = subprocess.run([sys.executable, str(ROOT/"bench"/"run_all.py"), "--quick", "--list"],
                       capture_output=True, text=True, env=ENV)
    assert p.returncode == 0
    assert f"{ROOT}/bench/results/quick/" in p.stdout and f"--out {ROOT}/bench/results " not in p.stdout

def test_unknown_item_is_refused(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT/"bench"/"run_all.py"), "--only", "fig1", "figure9",
                        "--out", str(tmp_path)], capture_output=True, text=True, env=ENV)
    assert p.returncode == 2 and "unknown item(s) figure9; expected some of: table1_dm," in p.stderr
    assert list(tmp_path.iterdir()) == []                # nothing written

def test_one_item_end_to_end(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT/"bench"/"run_all.py"), "--quick", "--only", "ctm",
                        "--out", str(tmp_path)], capture_output=True, text=True, env=ENV, timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "[1/1] ctm: ok in" in p.stdout and "1 of 1 items ok" in p.stdout
    log = json.loads((tmp_path/"run_all.json").read_text())
    assert [e["item"] for e in log["items"]] == ["ctm"] and log["items"][0]["ok"]
    assert log["items"][0]["command"][:2] == ["python", "bench/ctm_toy.py"]      # no machine paths in the log
    assert not any(str(ROOT) in c for c in log["items"][0]["command"])
    res = json.loads((tmp_path/"ctm_toy.json").read_text())
    for toy, r in res["toys"].items():
        assert r["steps"] == 100
        assert set(r["w1"]) == set(r["exact_w1"]) == {"1-NFE", "gamma=0.0", "gamma=0.3", "gamma=0.6", "gamma=1.0"}
        assert r["goal_met"] == (r["jump_error"] < 0.05)
    assert (tmp_path/"ctm_toy_jumps.png").stat().st_size > 0 and (tmp_path/"ctm_toy_gamma.png").stat().st_size > 0

def _py(code:str)->list: return [sys.executable, "-c", code]

def _rendezvous(me:Path, other:Path, wait_s:float)->list:
    "A command that writes `me`, then waits up to `wait_s` for `other` (exit 1 if it never comes)."
    return _py(f"import pathlib, sys, time; pathlib.Path({str(me)!r}).touch(); t = time.time()\n"
               f"while not pathlib.Path({str(other)!r}).exists():\n    time.sleep(0.05)\n"
               f"    if time.time() - t > {wait_s}: sys.exit(1)")

def test_jobs_run_side_by_side(tmp_path):
    "Two items that each wait for the other finish only when they run at the same time."
    a, b = tmp_path/"a", tmp_path/"b"
    todo = {"x": _rendezvous(a, b, 120), "y": _rendezvous(b, a, 120)}
    log = run_all.run_items(todo, 2, tmp_path/"logs", say=lambda l: None)
    assert [e["ok"] for e in log] == [True, True]
    a.unlink(); b.unlink()
    todo = {"x": _rendezvous(a, b, 5), "y": _rendezvous(b, a, 5)}
    log = run_all.run_items(todo, 1, tmp_path/"logs1", say=lambda l: None)   # one at a time: the first gives up
    assert {e["item"]: e["ok"] for e in log} == {"x": False, "y": True}

def test_needs_and_alone(tmp_path):
    "An item starts after the items it needs, is skipped when one failed; an `alone` item overlaps no other."
    mark = lambda name: _py(f"import pathlib; pathlib.Path({str(tmp_path/name)!r}).touch()")
    todo = {"bad": _py("import sys; sys.exit(3)"), "good": mark("good"), "after_bad": mark("after_bad"),
            "after_good": _py(f"import pathlib, sys; "
                              f"sys.exit(0 if pathlib.Path({str(tmp_path/'good')!r}).exists() else 1)"),
            "timing": mark("timing"), "late": mark("late")}
    needs = {"after_bad": ("bad",), "after_good": ("good",)}
    lines = []
    log = {e["item"]: e for e in run_all.run_items(todo, 2, tmp_path/"logs", needs=needs, alone=("timing",),
                                                   say=lines.append)}
    assert not log["bad"]["ok"] and log["bad"]["returncode"] == 3
    assert log["after_bad"]["skipped"] == "needs bad" and not (tmp_path/"after_bad").exists()
    assert log["after_good"]["ok"] and log["late"]["ok"] and log["timing"]["ok"]
    t = log["timing"]
    for k, e in log.items():
        # [start, end] of every other item is outside the timing item's
        if k != "timing" and e["start_s"] is not None:
            assert (e["start_s"] + e["wall_s"] <= t["start_s"] + 0.2
                    or e["start_s"] >= t["start_s"] + t["wall_s"] - 0.2), (k, e, t)   # 0.2: rounding
    assert (any("bad: FAILED (exit 3)" in l for l in lines)
            and any("after_bad: SKIPPED (needs bad, which failed)" in l for l in lines))
    assert (tmp_path/"logs"/"bad.log").exists()

def test_jobs_below_one_is_refused(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT/"bench"/"run_all.py"), "--jobs", "0", "--only", "fig1",
                        "--out", str(tmp_path)], capture_output=True, text=True, env=ENV)
    assert p.returncode == 2 and "--jobs must be at least 1, got 0" in p.stderr and list(tmp_path.iterdir()) == []
