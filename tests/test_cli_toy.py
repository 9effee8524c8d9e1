"""The figure commands: `ctinv_toy` (Fig. 1, five points) runs end to end on one CPU thread \
and writes what it says, with
the numbers of nbs/05_toy_inversion.ipynb; `ctinv_toy --figure 3` writes the guidance table \
of nbs/06_toy_guidance.ipynb."""
import json, time
import pytest

PNG = b"\x89PNG\r\n\x1a\n"
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
GOAL = 0.05   # every Fig. 1 error and the latent KS: the goals of 05_toy_inversion

@pytest.fixture(scope="module")
def fig1(tmp_path_factory):
    import subprocess, sys, os
    from pathlib import Path
    out = tmp_path_factory.mktemp("toy")/"fig1"
    t0 = time.time()
    p = subprocess.run([str(Path(sys.executable).parent/"ctinv_toy"), "--out", str(out)], capture_output=True,
                       text=True, timeout=900, env={**os.environ, **ONE_THREAD})
    assert p.returncode == 0, p.stderr[-3000:]
    print(f"ctinv_toy wall time {time.time() - t0:.0f} s")
    return out, p, json.loads((out/"metrics.json").read_text())

def test_writes_what_it_says(fig1):
    out, p, m = fig1
    assert {"cm_flow_error", "noiser_flow_error", "latent_ks", "roundtrip_error", "wall_s"} <= set(m)
    assert json.loads(p.stdout) == {k: v for k, v in m.items() if not isinstance(v, (list, dict))}
    for name in ("fig1.png", "ddim_inversion.png"): assert (out/name).read_bytes()[:8] == PNG
    assert not [f for f in out.iterdir() if ".tmp" in f.name]

def test_met_goals(fig1):
    m = fig1[2]
    assert m["cm_flow_error"] < GOAL
    assert m["roundtrip_error"] < GOAL and m["roundtrip_atom_share"] > 0.95          # goal: 95% back on their atom
    assert m["basin_share"] > 0.95                                    # goal: 95% of latents in their basin
    assert m["noiser_latent_error"] < m["ddim_latent_error_30"]     # 1 NFE of the noiser beats 30-step DDIM inversion
    assert m["latent_ks"] < 0.15, "regression band: below every collapse recorded in 05_toy_inversion (KS 0.22-0.58)"

@pytest.mark.xfail(strict=True,
                   reason="known failure of the default recipe (05_toy_inversion, 'What limits the noiser'): "
                   "the noiser's flow error (0.05-0.06) and latent KS (0.10-0.12) miss the 0.05 goals")
def test_noiser_goals(fig1):
    m = fig1[2]
    assert m["noiser_flow_error"] < GOAL and m["latent_ks"] < GOAL

def test_ctinv_toy_refuses_to_overwrite(tmp_path, run_cli):
    (tmp_path/"metrics.json").write_text("{}")
    p = run_cli("ctinv_toy", "--out", tmp_path, check=False)
    assert p.returncode == 2 and "holds results already" in p.stderr and (tmp_path/"metrics.json").read_text() == "{}"
