("`toy_guidance_demo` (Fig. 3 of iGCT, the function behind `ctinv_toy --figure 3`) "
 "writes guidance.json with every method and omega, the figures, and the exact-oracle rows of "
 "nbs/06_toy_guidance.ipynb; it refuses an unusable `out` before training.")
import json, os
import pytest, torch
from ctinv.toy_guidance import toy_guidance_demo, REFERENCE, reference_tolerance

PNG = b"\x89PNG\r\n\x1a\n"
METHODS = {"cfg_exact", "igct_exact", "cfg", "cfg_interval", "apg", "guided_cd", "igct"}

def test_toy_guidance_demo(tmp_path):
    torch.set_num_threads(1)
    out = tmp_path/"fig3"
    res = toy_guidance_demo(out, seed=0, steps=100, n=200)           # a short run: the learned rows are not judged here
    saved = json.loads((out/"guidance.json").read_text())
    assert saved == json.loads(json.dumps(res)) and set(saved) == METHODS
    for m, d in saved.items():
        assert set(d) == {"1", "3", "7", "13"}, m
        for row in d.values():
            assert set(row) == {"mean", "std", "beyond", "w1", "n"} and all(v == v for v in row.values())
            assert row["n"] == (4000 if m.endswith("_exact") else 2*200), (m, row)   # class + only / both classes
    for m in ("cfg_exact", "igct_exact"):                             # the oracles do not depend on training
        for om, ref in REFERENCE[m].items():
            tol = reference_tolerance(ref[1], ref[2], 4000)
            for j, key in enumerate(("mean", "std", "beyond")):
                assert abs(saved[m][str(om)][key] - ref[j]) <= tol[key], (m, om, key)
    for name in ("dynamics.png", "densities.png"): assert (out/name).read_bytes()[:8] == PNG
    assert not [p for p in out.iterdir() if ".tmp" in p.name]

def test_toy_guidance_demo_refuses_bad_out(tmp_path):
    f = tmp_path/"file"; f.write_text("x")
    with pytest.raises(ValueError, match="exists and is not a folder"): toy_guidance_demo(f, steps=100)
    ro = tmp_path/"ro"; ro.mkdir(); ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root): no read-only folder to test")
        with pytest.raises(ValueError, match="not a writable folder"): toy_guidance_demo(ro/"sub", steps=100)
    finally: ro.chmod(0o700)
