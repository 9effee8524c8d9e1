"""Bad input to the three commands: refused before any work with one line on stderr, exit status 2, no traceback, and
no file created or changed. Then faults during a run: a full disk, Ctrl-C, a failed resume."""
import errno, json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}

def run(name, *args, timeout=120):
    return subprocess.run([str(BIN/name), *map(str, args)], capture_output=True, text=True, timeout=timeout, env=ENV,
                          cwd=ROOT)

def snapshot(d:Path)->dict:
    "Every file under `d` with its bytes: what must not change."
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()} if d.exists() else {}

def assert_refused(p, message:str, prog:str="ctinv_train"):
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert p.stderr.startswith(f"{prog}: error: ") and p.stderr.count("\n") == 1, p.stderr    # one line
    assert message in p.stderr, p.stderr
    assert "Traceback" not in p.stderr and p.stdout == ""

@pytest.fixture(scope="module")
def work(tmp_path_factory):
    "A folder with a finished tiny run, a plain file, and image folders with one class and with mixed sizes."
    from PIL import Image
    import numpy as np
    d = tmp_path_factory.mktemp("bad")
    (d/"a_file").write_text("not a folder")
    for i in range(12):
        (d/"one_class"/"c0").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(d/"one_class"/"c0"/f"{i}.png")
    for c, s in (("a", 8), ("b", 9)):
        (d/"mixed"/c).mkdir(parents=True)
        [Image.fromarray(np.zeros((s, s), np.uint8)).save(d/"mixed"/c/f"{i}.png") for i in range(4)]
    p = run("ctinv_train", "--preset", "tiny", "--n_train", 128, "--epochs", 1, "--n_eval", 32, "--n_edit", 8,
            "--out", d/"run", timeout=600)
    assert p.returncode == 0, p.stderr
    return d

BAD_TRAIN = [
    (["--bs", "0"], "bs (batch size) must be an integer >= 1, got 0"),
    (["--bs", "-8"], "bs (batch size) must be an integer >= 1, got -8"),
    (["--bs", "2.5"], "argument --bs: invalid int value: '2.5'"),
    (["--lr", "0"], "lr (learning rate) must be a finite number > 0, got 0.0"),
    (["--lr=-1e-3"], "lr (learning rate) must be a finite number > 0, got -0.001"),
    (["--lr", "nan"], "lr (learning rate) must be a finite number > 0, got nan"),
    (["--lr", "inf"], "got inf"),
    (["--edit_w", "nan"], "edit_w (guidance weight) must be a finite number >= 0 and <= 14, got nan"),
    (["--edit_w", "20"], "edit_w (guidance weight) must be a finite number >= 0 and <= 14, got 20.0"),
    (["--edit_w", "-1"], "got -1.0"),
    (["--method", "ctinv", "--edit_w", "3"], "needs method 'igct'"),
    (["--n_eval", "0"], "n_eval must be an integer >= 1, got 0"),
    (["--n_edit", "0"], "n_edit must be an integer >= 1, got 0"),
    (["--n_train", "0"], "n_train must be an integer >= 2, got 0"),
    (["--steps", "0"], "steps must be an integer >= 1, got 0"),
    (["--epochs", "-1"], "epochs must be an integer >= 1, got -1"),
    (["--epochs", "1", "--steps", "5"], "give epochs or steps, not both"),
    (["--seed", "-1"], "seed must be an integer >= 0, got -1"),
    (["--threads", "-2"], "threads must be an integer >= 0, got -2"),
    (["--image_size", "0"], "image_size must be an integer >= 4, got 0"),
    (["--curve_every", "0"], "curve_every must be an integer >= 1, got 0"),
    (["--classifier_epochs", "0"], "classifier_epochs must be an integer >= 1, got 0"),
    (["--preset", "huge"], "invalid choice: 'huge'"),
    (["--method", "gan"], "invalid choice: 'gan'"),
    (["--data", "no_such_set"], "unknown data set 'no_such_set'"),
    (["--no_such_option", "1"], "unrecognized arguments: --no_such_option 1"),
]

@pytest.mark.parametrize("args, message", BAD_TRAIN, ids=[" ".join(a) for a, _ in BAD_TRAIN])
def test_train_refuses(tmp_path, args, message):
    p = run("ctinv_train", "--out", tmp_path/"x", *args)
    assert_refused(p, message)
    assert list(tmp_path.iterdir()) == []                               # nothing created

def test_train_refuses_folders(work):
    before = snapshot(work)
    cases = [(["--out", work/"a_file"], "exists and is not a folder"),
             (["--out", work/"a_file"/"sub"], "is a file"),
             (["--out", work/"run"], "holds a run already: continue it with resume, start again with force"),
             (["--out", work/"run", "--resume", "--force"], "give resume or force, not both"),
             (["--out", work/"new", "--resume"], "nothing to resume"),
             (["--out", work/"new", "--resume", work/"absent"], "nothing to resume: no run folder"),
             (["--out", work/"new", "--resume", work/"one_class"], "nothing to resume: no checkpoint in"),
             (["--out", work/"new", "--data", work/"one_class"], "the data set has 1 class"),
             (["--out", work/"new", "--data", work/"mixed"], "differ in size"),
             (["--out", work/"new", "--resume", work/"run", "--preset", "digits"],
              "trained with preset 'tiny', not 'digits'"),
             (["--out", work/"new", "--preset", "tiny", "--n_eval", "100000"],
              "n_eval 100000 is more than the 270 held-out images")]
    for args, message in cases: assert_refused(run("ctinv_train", *args), message)
    # advice the command can follow
    assert "--image_size" in run("ctinv_train", "--out", work/"new", "--data", work/"mixed").stderr
    assert snapshot(work) == before and not (work/"new").exists()         # nothing created or changed

def test_train_refuses_bad_checkpoints(work, tmp_path):
    import shutil, hashlib
    for case in ("missing_key", "not_safetensors", "corrupt"):
        run_ = tmp_path/case; shutil.copytree(work/"run", run_)
        ck = run_/"ckpt"/"checkpoint.json"; meta = json.loads(ck.read_text())
        w = next((run_/"ckpt").glob("weights-*.safetensors"))
        if case == "missing_key": meta.pop("step")
        if case == "not_safetensors":
            w.write_bytes(b"this is not a safetensors file" * 10)
            meta["files"][w.name] = hashlib.sha256(w.read_bytes()).hexdigest()
        if case == "corrupt": w.write_bytes(w.read_bytes()[:-8] + b"corrupt!")
        ck.write_text(json.dumps(meta))
        before = snapshot(run_)
        p = run("ctinv_train", "--out", run_, "--resume", "--epochs", 2)
        assert_refused(p, {"missing_key": "lacks the key 'step'", "not_safetensors": "is not safetensors",
                           "corrupt": "corrupt checkpoint"}[case])
        assert snapshot(run_) == before                                       # metrics.json and the rest kept

def test_force_replaces_only_the_run(work, tmp_path):
    import shutil
    d = tmp_path/"run"; shutil.copytree(work/"run", d); (d/"notes.txt").write_text("mine")
    p = run("ctinv_train", "--out", d, "--force", "--preset", "tiny", "--n_train", 128, "--steps", 2, "--n_eval", 16,
            "--n_edit", 4, timeout=600)
    assert p.returncode == 0, p.stderr
    assert (d/"notes.txt").read_text() == "mine"                             # a file the user made is kept
    assert json.loads((d/"metrics.json").read_text())["steps"] == 2

BAD_OTHER = [("ctinv_toy", ["--steps", "5"], "steps must be an integer >= 100, got 5"),
             ("ctinv_toy", ["--steps", "many"], "argument --steps: invalid int value: 'many'"),
             ("ctinv_toy", ["--figure", "2"], "argument --figure: invalid choice: 2"),
             ("ctinv_toy", ["--seed", "-3"], "seed must be an integer >= 0, got -3"),
             ("ctinv_pfode", ["--n", "0"], "n must be an integer >= 2, got 0"),
             ("ctinv_pfode", ["--n", "-5"], "n must be an integer >= 2, got -5"),
             ("ctinv_pfode", ["--seed", "-1"], "seed must be an integer >= 0")]

@pytest.mark.parametrize("prog, args, message", BAD_OTHER, ids=[f"{p} {' '.join(a)}" for p, a, _ in BAD_OTHER])
def test_other_commands_refuse(tmp_path, prog, args, message):
    assert_refused(run(prog, "--out", tmp_path/"x", *args), message, prog)
    assert list(tmp_path.iterdir()) == []

def test_toy_checks_out_before_training(work):
    "An unusable --out is refused at once (the old command trained for a minute first)."
    p = run("ctinv_toy", "--out", work/"a_file")
    assert_refused(p, "exists and is not a folder", "ctinv_toy")
    p = run("ctinv_toy", "--out", work/"a_file"/"x", "--figure", "3")
    assert_refused(p, "is a file", "ctinv_toy")

def test_disk_full_during_a_run(work, tmp_path, monkeypatch, capsys):
    "A full disk while a checkpoint is written: a one-line error, no half-written file, the finished run's files kept."
    import shutil
    from ctinv import cli, train
    d = tmp_path/"run"; shutil.copytree(work/"run", d)
    before = snapshot(d)
    real = os.fsync
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(train.os, "fsync", full)
    with pytest.raises(SystemExit) as e:
        cli.train_main(["--out", str(d), "--resume", "--epochs", "2", "--n_eval", "16", "--n_edit", "4"])
    monkeypatch.setattr(train.os, "fsync", real)
    err = capsys.readouterr().err.splitlines()
    assert (e.value.code == 1
            and err[-1].startswith("ctinv_train: error: no space left on device while writing into")), err[-3:]
    assert not [p for p in d.rglob("*") if ".tmp" in p.name]                                  # no half-written file
    after = snapshot(d)
    assert (after["metrics.json"] == before["metrics.json"]
            and after["ckpt/checkpoint.json"] == before["ckpt/checkpoint.json"])
    for k in before: assert after[k] == before[k], k                                         # the old checkpoint intact

def test_ctrl_c_stops_cleanly(tmp_path):
    "Ctrl-C stops after the current step with how to continue, no traceback; the run then resumes."
    out = tmp_path/"run"
    p = subprocess.Popen([str(BIN/"ctinv_train"), "--preset", "tiny", "--n_train", "128", "--steps", "100",
                          "--out", str(out), "--n_eval", "16", "--n_edit", "4"],
                         stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    lines = []
    for line in p.stderr:                               # wait for training to be under way (a progress line)
        lines.append(line)
        if line.startswith("step ") and (out/"ckpt"/"checkpoint.json").exists(): break
    p.send_signal(signal.SIGINT)
    _, rest = p.communicate(timeout=300)
    err = "".join(lines) + rest
    assert p.returncode == 130, (p.returncode, err[-2000:])
    tail = err.strip().splitlines()[-1] if err.strip() else ""
    assert "Traceback" not in err
    assert (tail.startswith("ctinv_train: error: interrupted at step ")
            and f"continue with `ctinv_train --resume --out {out}`" in tail), tail
    assert not (out/"metrics.json").exists() and not [f for f in out.rglob("*") if ".tmp" in f.name]
    q = run("ctinv_train", "--out", out, "--resume", "--steps", "24", "--n_eval", "16", "--n_edit", "4", timeout=600)
    assert q.returncode == 0, q.stderr
