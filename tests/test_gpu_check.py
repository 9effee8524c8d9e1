"""`bench/gpu_check.py --tiny`: the GPU check's code path (train both methods in fp32 and bf16, sample, encode, Table-1
protocol) on the CPU at tiny shapes, importing only what the GPU image holds plus bench/gpu_wheels.py's wheels; and its
runner: the time budget checked before each item, failures recorded while the rest go on."""
import json, os, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"bench"))
import gpu_check

# Run gpu_check with every distribution of this venv that is neither on the GPU image nor among the wheels unimportable.
AS_ON_GPU = """
import importlib.abc, importlib.metadata as m, re, runpy, sys
sys.path[:0] = [{root!r}, {root!r} + '/bench']
import gpu_wheels
norm = lambda n: re.sub(r'[-_.]+', '-', n).lower()
ok = {{norm(n) for n in gpu_wheels.IMAGE}} | {{norm(s.split('==')[0]) for s in gpu_wheels.wanted()}} \
| {{'ctinv'}}  # ctinv: the source travels
dists = m.packages_distributions()
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        d = dists.get(name.split('.')[0])
        if d and not any(norm(x) in ok for x in d): raise ModuleNotFoundError(f'{{d}} is not on the GPU image')
sys.meta_path.insert(0, Absent())
sys.argv = ['gpu_check.py'] + sys.argv[1:]
runpy.run_path({root!r} + '/bench/gpu_check.py', run_name='__main__')
"""

def test_gpu_check_tiny(tmp_path):
    out = tmp_path/"gpu_check.json"
    p = subprocess.run([sys.executable, "-c", AS_ON_GPU.format(root=str(ROOT)), "--tiny", "--out", str(out)],
                       capture_output=True, text=True, timeout=900, env={**os.environ, "OMP_NUM_THREADS": "1"},
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(out.read_text())
    assert r["finished"] and r["torch"] and r["device"]
    errors = [i for i in r["items"] if "error" in i]
    assert not errors, errors
    trained = [i for i in r["items"] if i["what"] == "train" and "skipped" not in i]
    assert ({(i["method"], i["precision"]) for i in trained}
            == {(m, p) for m in ("igct", "ctinv") for p in ("fp32", "bf16")})
    assert all(i["train_img_per_s"] > 0 and i["sample_img_per_s"] > 0 and i["encode_img_per_s"] > 0
               and i["train_peak_mem_mb"] > 0 for i in trained)
    t1 = next(i for i in r["items"] if i["what"] == "table1")
    assert sorted(row["nfe"] for row in t1["rows"]) == [2, 31, 31, 60]           # the four pipelines, NFE counted
    assert all(v > 0 for v in t1["sec_per_batch"].values())
    s = r["summary"]["tiny"]
    assert (set(s["train_img_per_s"]) == {"igct fp32", "igct bf16", "ctinv fp32", "ctinv bf16"}
            and len(s["table1_sec_per_batch"]) == 4)
    assert len(s["not_measured"]) == 4 and all("torch.compile on the CPU" in m for m in s["not_measured"])

def test_budget_and_failures(tmp_path):
    ("An item that raises is recorded and the next runs; one expected not to fit is skipped; "
     "one that overruns is stopped.")
    res, out = {}, tmp_path/"g.json"
    r = gpu_check.Runner(out, budget_s=2., res=res, guess={("train", False): .01, ("table1", False): .01},
                         t0=time.time())
    def ok(item): item["x"] = 1.
    def boom(item): raise RuntimeError("no kernel image is available")
    def slow(item): time.sleep(60)
    r.run(dict(what="train", preset="tiny"), ok, ("train", False, "tiny"))
    r.run(dict(what="train", preset="digits"), boom, ("train", False, "digits"))
    r.run(dict(what="train", preset="mnist", compile=True), ok, ("train", True, "mnist"), expected=60)
    r.run(dict(what="table1", preset="tiny"), slow, ("table1", False, "tiny"))
    r.run(dict(what="table1", preset="digits"), ok, ("table1", False, "digits"))
    a, b, c, d, e = json.loads(out.read_text())["items"]
    assert a["x"] == 1 and "error" not in a and "skipped" not in a
    assert b["error"] == "RuntimeError: no kernel image is available" and "boom" in b["trace"]
    assert c["skipped"].startswith("time budget: needs about 60 s") and "x" not in c
    assert d["error"].startswith("BudgetSpent") and d["item_s"] < 3          # the alarm stops it at the budget's end
    assert e["skipped"].startswith("time budget") and r.left() < 0
