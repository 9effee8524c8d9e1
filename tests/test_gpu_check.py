"`bench/gpu_check.py --tiny`: the GPU check's code path (train every method, sample, encode, Table-1 protocol) on the CPU at tiny shapes."
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_gpu_check_tiny(tmp_path):
    out = tmp_path/"gpu_check.json"
    p = subprocess.run([sys.executable, str(ROOT/"bench"/"gpu_check.py"), "--tiny", "--out", str(out)], capture_output=True, text=True,
                       timeout=900, env={**os.environ, "OMP_NUM_THREADS": "1"}, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(out.read_text())
    errors = [i for i in r["items"] if "error" in i]
    assert not errors, errors
    trained = [i for i in r["items"] if i["what"] == "train" and "skipped" not in i]
    assert {i["method"] for i in trained} == {"igct", "ctinv"}
    assert all(i["train_img_per_s"] > 0 and i["sample_img_per_s"] > 0 and i["encode_img_per_s"] > 0 for i in trained)
    t1 = next(i for i in r["items"] if i["what"] == "table1")
    assert sorted(row["nfe"] for row in t1["rows"]) == [2, 31, 31, 60]           # the four pipelines, NFE counted
