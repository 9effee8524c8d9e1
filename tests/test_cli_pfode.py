"The PF-ODE demo command writes what it says, with the exact-solution numbers of nbs/00_pfode.ipynb."
import json

def test_ctinv_pfode(tmp_path, run_cli):
    out = tmp_path/"pfode"
    p = run_cli("ctinv_pfode", "--out", out, "--n", 1000)
    m = json.loads((out/"metrics.json").read_text())
    assert json.loads(p.stdout) == m
    assert m["flow_error_to_eps"] < 1e-4 and m["flow_error_to_T"] < 1e-4   # RK4 against the exact quantile map
    assert 0.0010 < m["w1_prior_to_data"] < 0.0025                          # = eps*sqrt(2/pi) = 0.0016
    assert (out/"trajectories.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob("*.tmp"))
