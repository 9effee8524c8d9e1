("`ctinv_sample` and `ctinv_edit` on a tiny trained run, their refusals, "
 "and the run-folder faults of `ctinv_train`/`ctinv_toy` (one run trained per module).")
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pytest
from PIL import Image

ROOT, BIN = Path(__file__).resolve().parents[1], Path(sys.executable).parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}

def run(name, *args, timeout=300):
    return subprocess.run([str(BIN/name), *map(str, args)], capture_output=True, text=True, timeout=timeout, env=ENV,
                          cwd=ROOT)

def refused(p, msg, prog):
    "Exit status 2 and one line naming the problem, no traceback."
    assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
    assert p.stderr.count("\n") == 1 and p.stderr.startswith(f"{prog}: error: ") and msg in p.stderr, p.stderr

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    "A finished tiny iGCT run on the digits (about 20 s on one core)."
    out = tmp_path_factory.mktemp("use")/"run"
    p = run("ctinv_train", "--preset", "tiny", "--steps", 20, "--n_eval", 32, "--n_edit", 8, "--classifier_epochs", 1,
            "--out", out)
    assert p.returncode == 0, p.stderr[-2000:]
    return out

def test_sample(trained, tmp_path):
    p = run("ctinv_sample", trained, "--n", 3, "--classes", 0, 5, "--nfe", 2, "--w", 1.5, "--out", tmp_path/"s")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert (r["images"], r["nfe"], r["classes"], r["w"]) == (6, 2, [0, 5], 1.5) and r["s_per_image"] > 0
    assert "2 NFE each" in p.stderr and "ms per image" in p.stderr
    z = np.load(tmp_path/"s"/"samples.npz")
    assert z["images"].shape == (6, 8, 8, 1) and z["images"].dtype == np.uint8 and z["labels"].tolist() == [0]*3 + [5]*3
    assert (tmp_path/"s"/"samples.png").read_bytes()[:4] == b"\x89PNG"

def test_edit_held_out_and_files(trained, tmp_path):
    p = run("ctinv_edit", trained, "--held_out", 8, "--to", 3, "--w", 2, "--out", tmp_path/"e")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert (r["images"], r["to"], r["nfe_encode"], r["nfe_decode"]) == (8, 3, 1, 1)
    # 8 images of 8x8: both
    assert {"psnr", "ssim", "psnr_igct", "ssim_igct"} <= set(r) and "iGCT convention: " in p.stderr
    z = np.load(tmp_path/"e"/"edit.npz")
    assert z["source"].shape == z["reconstruction"].shape == z["converted"].shape == (8, 8, 8, 1)
    Image.fromarray(np.uint8(np.arange(256).reshape(16, 16))).save(tmp_path/"a.png")
    Image.fromarray(np.uint8(np.arange(64).reshape(8, 8)*4)).convert("L").save(tmp_path/"b.jpg")
    p = run("ctinv_edit", trained, tmp_path/"a.png", tmp_path/"b.jpg", "--src", 1, 2, "--to", 0, "--out", tmp_path/"f")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert f"{tmp_path/'a.png'}: resized from 16x16 to the run's 8x8" in p.stderr and "b.jpg: resized" not in p.stderr
    # too few for the iGCT convention
    assert r["images"] == 2 and "ssim_igct" not in r and "needs >= 7 images" in p.stderr
    assert np.load(tmp_path/"f"/"edit.npz")["labels"].tolist() == [1, 2]

def test_refusals_before_torch(trained, tmp_path):
    "Each refusal is one line, exit 2, fast (torch is not imported), and writes nothing."
    ctinv = tmp_path/"ctinv_run"; (ctinv/"ckpt").mkdir(parents=True); (ctinv/"metrics.json").write_text("{}")
    ck = json.loads((trained/"ckpt"/"checkpoint.json").read_text()); ck["config"]["method"] = "ctinv"
    (ctinv/"ckpt"/"checkpoint.json").write_text(json.dumps(ck))
    (tmp_path/"bad.png").write_bytes(b"\x89PNG not really")
    Image.new("RGB", (8, 8)).save(tmp_path/"rgb.png")
    (tmp_path/"unfinished"/"ckpt").mkdir(parents=True)
    cases = [("ctinv_sample", [tmp_path/"unfinished"], "holds no finished run"),
             ("ctinv_edit", [tmp_path/"absent", "--held_out", 2], "no run folder"),
             ("ctinv_sample", [ctinv, "--w", 3], "the run's method 'ctinv' has no guidance input"),
             ("ctinv_edit", [ctinv, "--held_out", 2, "--w", 1], "the run's method 'ctinv' has no guidance input"),
             ("ctinv_sample", [trained, "--w", 14.5],
              "w (guidance weight) must be a finite number >= 0 and <= 14, got 14.5"),
             ("ctinv_edit", [trained, "--held_out", 2, "--w", -1], "got -1.0"),
             ("ctinv_sample", [trained, "--classes", 10], "class 10 is out of range: the run has 10 classes, 0 to 9"),
             ("ctinv_edit", [trained, "--held_out", 2, "--to", 12], "class 12 is out of range"),
             ("ctinv_edit", [trained, tmp_path/"bad.png", "--src", 0], f"cannot read image {tmp_path/'bad.png'}"),
             ("ctinv_edit", [trained, tmp_path/"nofile.png", "--src", 0], "cannot read image"),
             ("ctinv_edit", [trained, tmp_path/"rgb.png", "--src", 0],
              "is colour (RGB), but the run's images have 1 channel")]
    for prog, args, msg in cases:
        t0 = time.time()
        refused(run(prog, *args, "--out", tmp_path/"o"), msg, prog)
        assert time.time() - t0 < 3, (prog, args)
    assert not (tmp_path/"o").exists()

def test_resume_other_method_or_data(trained, tmp_path):
    "(c) `--resume` with another --method or --data than the checkpoint's is refused, naming the checkpoint's."
    refused(run("ctinv_train", "--resume", trained, "--method", "ctinv", "--out", tmp_path/"o"),
            "trained with method 'igct', not 'ctinv' (its method is 'igct', its data 'digits')", "ctinv_train")
    refused(run("ctinv_train", "--resume", trained, "--data", "mnist", "--out", tmp_path/"o"),
            "trained with data 'digits', not 'mnist'", "ctinv_train")
    assert not (tmp_path/"o").exists()

def test_folder_too_small(tmp_path):
    "(d) a folder of 3 images cannot hold images out: refused before training, naming the minimum."
    for i in range(3):
        (tmp_path/"d"/f"c{i % 2}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.uint8(np.full((8, 8), 40*i))).save(tmp_path/"d"/f"c{i % 2}"/f"{i}.png")
    p = run("ctinv_train", "--data", tmp_path/"d", "--preset", "tiny", "--out", tmp_path/"o")
    refused(p, "too small to hold images out", "ctinv_train")
    assert "at least 10 images" in p.stderr and not (tmp_path/"o").exists()

def test_device_without_gpu(tmp_path):
    "(e) --device cuda on a machine without a GPU: one line."
    import torch
    if torch.cuda.is_available(): pytest.skip("this machine has a GPU")
    refused(run("ctinv_train", "--device", "cuda", "--out", tmp_path/"o"), "no CUDA GPU is available", "ctinv_train")

def test_toy_points_to_force(tmp_path):
    "(g) ctinv_toy has no --resume: an --out with results points to --force only."
    (tmp_path/"t").mkdir(); (tmp_path/"t"/"fig1.png").write_text("x")
    p = run("ctinv_toy", "--out", tmp_path/"t")
    refused(p, "holds results already: replace them with force, or choose another out", "ctinv_toy")
    assert "resume" not in p.stderr

def test_lock_and_sigterm(tmp_path):
    ("(a) a second ctinv_train on a busy --out is refused naming the owner; "
     "(f) SIGTERM stops after the step, exit 143, lock released.")
    out = tmp_path/"run"
    a = subprocess.Popen([str(BIN/"ctinv_train"), "--preset", "tiny", "--steps", "400", "--out", str(out),
                          "--n_eval", "16", "--n_edit", "4"],
                         stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    lines = []
    for line in a.stderr:                                   # training under way, with a checkpoint written
        lines.append(line)
        if line.startswith("step ") and (out/"ckpt"/"checkpoint.json").exists(): break
    t0 = time.time()
    p = run("ctinv_train", "--preset", "tiny", "--out", out, "--force")
    refused(p, f"is in use: process {a.pid} on host ", "ctinv_train")
    assert time.time() - t0 < 3                              # at once: before torch is imported
    a.send_signal(signal.SIGTERM)
    _, rest = a.communicate(timeout=300)
    err = "".join(lines) + rest
    tail = err.strip().splitlines()[-1]
    assert a.returncode == 143 and "Traceback" not in err, (a.returncode, err[-2000:])
    assert (tail.startswith("ctinv_train: error: interrupted at step ") and "(SIGTERM); the checkpoint at step " in tail
            and "--resume" in tail), tail
    assert not (out/".ctinv.lock").exists() and not (out/"metrics.json").exists()

def test_stale_lock_taken_over(tmp_path):
    "(a) the lock of a process that died (killed, never released) is stale: taken over, the dead pid recognised."
    out = tmp_path/"run"
    code = (f"from ctinv.presets import RunLock; import os, time; l = RunLock({str(out)!r}).__enter__(); "
            f"print('locked', flush=True); time.sleep(60)")
    k = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    assert k.stdout.readline().strip() == "locked"
    from ctinv.presets import RunLock, run_owner
    assert run_owner(out).startswith(f"{k.pid} ")
    k.kill(); k.wait()
    assert (out/".ctinv.lock").exists() and run_owner(out) is None          # left behind, but nobody holds it
    with RunLock(out) as lk: assert lk.stale.startswith(f"{k.pid} ") and run_owner(out).startswith(f"{os.getpid()} ")
