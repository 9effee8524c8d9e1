("(h) the bench scripts refuse an --out that is a file, "
 "and bench/guidance.py an --igct folder without a finished iGCT run, before any training.")
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def bench(script, *args):
    return subprocess.run([sys.executable, str(ROOT/"bench"/script), *map(str, args)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "OMP_NUM_THREADS": "1"}, cwd=ROOT)

def test_out_is_a_file(tmp_path):
    f = tmp_path/"results.json"; f.write_text("{}")
    for script in ("run_all.py", "guidance.py"):
        p = bench(script, "--out", f)
        assert (p.returncode == 2 and f"--out {f} is a file, not a folder" in p.stderr
                and "Traceback" not in p.stderr), p.stderr
    assert f.read_text() == "{}"

def test_igct_run_checked_first(tmp_path):
    p = bench("guidance.py", "--igct", tmp_path, "--out", tmp_path/"o")
    assert (p.returncode == 2 and "no finished ctinv_train run there" in p.stderr
            and "Traceback" not in p.stderr), p.stderr
    (tmp_path/"ckpt").mkdir(); (tmp_path/"metrics.json").write_text("{}")
    (tmp_path/"ckpt"/"checkpoint.json").write_text(json.dumps({"config": {"method": "ctinv", "data": "digits"}}))
    p = bench("guidance.py", "--igct", tmp_path, "--out", tmp_path/"o")
    assert p.returncode == 2 and "the run's method is 'ctinv', not 'igct'" in p.stderr, p.stderr
    assert not (tmp_path/"o").exists()
