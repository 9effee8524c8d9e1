"`ctinv_train` end to end on the digits with the `tiny` preset: files, metrics keys, exact resume, clear errors."
import json, os, subprocess, sys
from pathlib import Path
import pytest
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
ENV = {"OMP_NUM_THREADS": "1"}
KEYS = {"recon_psnr", "recon_ssim", "edit_accuracy", "nfe_encode", "nfe_decode", "wall_s", "lpips", "config"}
FAST = ["--preset", "tiny", "--n_eval", "96", "--n_edit", "24"]

@pytest.fixture
def train(run_cli):
    "Run the `ctinv_train` console script with one thread."
    return lambda *args, check=True: run_cli("ctinv_train", *args, env=ENV, check=check)

@pytest.fixture(scope="module")
def shared(tmp_path_factory): return {"dir": tmp_path_factory.mktemp("cli")}

def test_run_writes_folder(train, shared):
    out = shared["dir"]/"run"
    p = train("--epochs", 1, "--out", out, *FAST)
    m = json.loads((out/"metrics.json").read_text())
    assert KEYS <= set(m), KEYS - set(m)
    assert json.loads(p.stdout)["recon_psnr"] == m["recon_psnr"]
    assert m["nfe_encode"] == 1 and m["nfe_decode"] == 1                      # counted, not declared
    assert m["config"]["preset"] == "tiny" and m["config"]["data"] == "digits" and m["config"]["epochs"] == 1
    assert m["steps"] == 1527//64 and m["epochs"] == 1                           # 1527 training digits, batch 64
    assert m["torch_threads"] == 1 and m["n_eval"] == 96 and m["n_edit"] == 24
    assert (m["lpips"] is None) == (m["lpips_reason"] is not None)              # a number, or null with the reason
    for f in ("samples.png", "recon.png", "edit.png"): assert (out/f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ck = json.loads((out/"ckpt"/"checkpoint.json").read_text())
    assert ck["step"] == m["steps"] and ck["config"]["method"] == m["config"]["method"]
    assert not [f for f in out.rglob("*") if ".tmp" in f.name]                   # atomic writes left nothing behind
    err = p.stderr.splitlines()
    assert err[0] == "ctinv_train: igct on digits (1527 train / 270 held out, 10 classes, 1x8x8)"   # the summary screen
    assert any(l.startswith("  run folder ") for l in err[:6]) and any("torch thread" in l for l in err[:6])
    assert [l for l in err if l.startswith("step ")], err                     # progress lines: stderr is not a terminal
    assert not [l for l in err if "Warning" in l or "warn(" in l], err          # no torch / fastai warning at start
    shared["m1"] = m

def test_resume_continues(train, shared):
    src, out = shared["dir"]/"run", shared["dir"]/"resumed"
    if "m1" not in shared: pytest.skip("needs the first run")
    train("--resume", src, "--out", out, "--epochs", 2, "--n_eval", 96, "--n_edit", 24)
    m = json.loads((out/"metrics.json").read_text())
    ck = json.loads((out/"ckpt"/"checkpoint.json").read_text())
    assert m["config"]["preset"] == "tiny" and m["config"]["epochs"] == 2      # taken from the checkpoint / the command
    assert ck["step"] == m["steps"] == 2*shared["m1"]["steps"] and ck["epoch"] == 1
    assert [h["epoch"] for h in ck["history"]] == [0, 1]                     # epoch 0 from the first run, 1 trained now
    # the resumed run's weights differ from where it started: epoch 1 was really trained
    w0 = load_file(str(next((src/"ckpt").glob("weights-*.safetensors"))))
    w1 = load_file(str(next((out/"ckpt").glob("weights-*.safetensors"))))
    k = next(k for k in w0 if k.startswith("model.") and w0[k].is_floating_point() and w0[k].abs().sum() > 0)
    assert not (w0[k] == w1[k]).all()
    shared["resumed"] = out

def test_bad_resume(train, shared, tmp_path):
    p = train("--resume", tmp_path, "--out", tmp_path/"o", check=False)       # a folder without a checkpoint
    assert p.returncode == 2 and "no checkpoint in" in p.stderr, p.stderr
    if "resumed" not in shared: pytest.skip("needs the resumed run")
    run = shared["resumed"]
    p = train("--resume", run, "--preset", "digits", "--out", tmp_path/"o", check=False)   # another preset's checkpoint
    assert p.returncode == 2 and "trained with preset 'tiny', not 'digits'" in p.stderr, p.stderr
    w = next((run/"ckpt").glob("weights-*.safetensors"))
    w.write_bytes(w.read_bytes()[:-8] + b"corrupt!")                              # flip the last bytes
    p = train("--resume", run, "--out", tmp_path/"o", check=False)
    assert p.returncode == 2 and "corrupt checkpoint" in p.stderr, p.stderr
    assert not (tmp_path/"o").exists()                                          # refused before anything was written

def test_torchrun_two_processes(tmp_path):
    "`torchrun --nproc_per_node 2 ctinv_train`: gloo on the CPU, each rank half of every epoch, rank 0 writes the run."
    bin_ = Path(sys.executable).parent
    out = tmp_path/"ddp"
    p = subprocess.run([str(bin_/"torchrun"), "--standalone", "--nproc_per_node", "2", str(bin_/"ctinv_train"),
                        "--epochs", "1", "--n_train", "256", "--out", str(out), *FAST],
                       capture_output=True, text=True, timeout=600, env={**os.environ, **ENV}, cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr
    m = json.loads((out/"metrics.json").read_text())
    assert m["n_procs"] == 2
    assert m["steps"] == 256//64//2                                   # 4 batches of 64 an epoch, split over 2 ranks
    ck = json.loads((out/"ckpt"/"checkpoint.json").read_text())
    assert ck["step"] == m["steps"] and ck["config"]["n_train"] == 256
