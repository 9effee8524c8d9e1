"Two CPU processes (gloo, torchrun) train one model: identical weights on both ranks, data split between them."
import json, os, subprocess, sys
from pathlib import Path
from safetensors.torch import load_file

SCRIPT = Path(__file__).parent/"scripts"/"toy_ct.py"

def test_two_process_training(tmp_path):
    torchrun = Path(sys.executable).parent/"torchrun"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    p = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", str(SCRIPT), str(tmp_path),
                        "--epochs", "2"],
                       capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    w0, w1 = load_file(str(tmp_path/"rank0.safetensors")), load_file(str(tmp_path/"rank1.safetensors"))
    assert w0.keys() == w1.keys()
    for k in w0: assert (w0[k] == w1[k]).all(), f"ranks disagree on {k}"
    r0, r1 = (json.loads((tmp_path/f"rank{r}.json").read_text()) for r in (0, 1))
    # 4096 samples, batch 256: 16 batches an epoch, 8 on each rank, 2 epochs
    assert r0["train_iter"] == r1["train_iter"] == 16
    for e in range(2):
        a, b = set(r0["seen"][e*2048:(e+1)*2048]), set(r1["seen"][e*2048:(e+1)*2048])
        assert len(a) == len(b) == 2048 and not a & b, "each rank must train on its own half of the epoch"
    # the initial weights were trained, not left alone
    assert json.loads((tmp_path/"ckpt"/"checkpoint.json").read_text())["step"] == 16
