"""`bench/guidance.py` end to end at toy length: every method and w gets a row with the promised keys, editing rows \
for both routes, the plots;
the baselines trained by one process (`--only baselines`) are reused, not retrained, by the next; `--confirm` trains
and scores only CFG-EDM and the gated pair."""
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def _bench(tmp_path, *extra):
    p = subprocess.run([sys.executable, str(ROOT/"bench"/"guidance.py"), "--preset", "tiny", "--steps", "20",
                        "--n_per_class", "2", "--n_edit", "4", "--out", str(tmp_path),
                        "--models", str(tmp_path/"models"), *extra], capture_output=True, text=True,
                       timeout=900, env={**os.environ, "OMP_NUM_THREADS": "1"}, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout

def test_guidance_bench_runs(tmp_path):
    first = _bench(tmp_path, "--only", "baselines")
    assert not (tmp_path/"guidance.json").exists() and "cfg_edm trained" in first and "igct trained" not in first
    assert (tmp_path/"models"/"cfg_edm.safetensors").exists() and (tmp_path/"models"/"rows_cfg_n2.json").exists()
    second = _bench(tmp_path)
    assert ("cfg_edm: cached" in second and "guided_cd: cached" in second and "classifier: cached" in second
            and "igct trained" in second)
    r = json.loads((tmp_path/"guidance.json").read_text())
    from ctinv.guidance import GUIDED_METHODS, W_GRID
    assert {(row["method"], row["w"]) for row in r["rows"]} == {(m, w) for m in GUIDED_METHODS for w in W_GRID}
    for row in r["rows"]:
        assert {"method", "w", "nfe", "precision", "recall", "fd", "class_acc", "saturation",
                "images_per_s"} <= set(row)
        one_step = {"igct": 1, "guided_cd": 1, "igct_2": 2, "guided_cd_2": 2}
        if row["method"] in one_step: assert row["nfe"] == one_step[row["method"]]
        elif row["method"] == "cfg":
            assert row["nfe"] == (35 if row["w"] == 0 else 70)   # network calls: two per guided Heun evaluation
        else: assert 35 <= row["nfe"] <= 70, row                                      # CFG on an interval, APG
    for e in r["editing"]: assert e["nfe"] == (2 if e["method"] == "igct" else 34 + (35 if e["w"] == 0 else 70)), e
    assert (tmp_path/"guidance_curves.png").stat().st_size > 0 and (tmp_path/"guidance_samples.png").stat().st_size > 0
    third = _bench(tmp_path, "--gate", ".2", "2", "--confirm", "--out", str(tmp_path/"confirm"))
    assert "cfg_edm: cached" in third and "igct_gate_0.2_2 trained" in third and "guided_cd" not in third
    c = json.loads((tmp_path/"confirm"/"guidance.json").read_text())
    assert c["confirm"] and c["editing"] == [] and set(c["cost"]) == {"cfg_edm_cpu_s", "igct_gate_cpu_s",
                                                                      "classifier_cpu_s"}
    assert {(row["method"], row["w"]) for row in c["rows"]} == {(m, w) for m in ("cfg", "igct_gate", "igct_gate_2")
                                                                for w in W_GRID}
    assert [row for row in c["rows"] if row["method"] == "cfg"] == [row for row in r["rows"] if row["method"] == "cfg"]
