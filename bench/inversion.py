#!/usr/bin/env python
"""Table 1 of the CT Inversion report on MNIST: reconstruction by DDIM inversion vs the CT Inversion noiser.

Three unconditional networks share one small UNet: an EDM denoiser `D` (DSMLoss), a consistency model `f`
(CTLoss, iCT) and a noiser `g` (CTInversionLoss), trained on the 60k MNIST training images with the library's
Learner. The four pipelines of `ctinv.inversion` (09_inversion) reconstruct test images:

    DDIM_Inv(30)+DM  30 Euler steps eps -> T with D (31 Karras levels), then 30 EDM Euler steps T -> 0   60 NFE
    DDIM_Inv(30)+CM  the same 30 inversion steps, then f(x_T, T)                                         31 NFE
    CT_Inv+CM        g(x + eps z', eps), then f(., T)                                                     2 NFE
    CT_Inv+DM        g(x + eps z', eps), then 30 EDM Euler steps T -> 0 with D                           31 NFE
    BCM_Inv(n)+BCM(n) a bidirectional consistency model F (ctinv.bcm, Li & He 2024): \
n jumps up, n down   2n NFE, n = 1, 2, 4

and, for the one-step generators, sample quality of 10,000 samples (CM 1 NFE, BCM 1/2/4 NFE) on the features of a
classifier trained here (2 epochs, cached beside the checkpoints): classifier FD, precision, recall (k = 3).

These are CPU-budget networks (minutes of one CPU core each), far from the report's 100k iterations (~40 GPU-hours).

    python bench/inversion.py --train dm      # resumable: re-run the same command to continue
    python bench/inversion.py --train cm
    python bench/inversion.py --train noiser
    python bench/inversion.py --train bcm     # optional: the BCM rows (about 2.3x the CPU of one CT network)
    python bench/inversion.py --eval --n-eval 2048
    python bench/inversion.py --train dm --seed 1 --ckpt-dir bench/checkpoints/inversion_seed1   # another training seed
    python bench/inversion.py --train dm --steps 80 --ckpt-dir /tmp/ck ...; \
--eval --ckpt-dir /tmp/ck --results /tmp/r   # a check
"""
from __future__ import annotations
import argparse, json, os, platform, sys, time
from pathlib import Path
import torch, torch.nn as nn
from torch import Tensor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fastai.basics import Callback, CancelTrainException, CancelValidException
from ctinv.pfode import T_MAX, EDMDenoiser, ConsistencyModel, Noiser
from ctinv.nets import unet_preset, n_params
from ctinv.data import get_dls, load_mnist, save_grid
from ctinv.train import consistency_learner
from ctinv.core import read_checkpoint, atomic_write_text, atomic_write_json, atomic_save_tensors
from ctinv.bcm import BCM, BCMObjective, BCMLoss, bcm_table1_rows, bcm_generate
from ctinv.inversion import TABLE1_ROWS, pipelines, recon_scores, table1, table1_markdown
from ctinv.samplers import sync_device
import ctinv.losses as L

CKPT, RESULTS = ROOT/"bench"/"checkpoints"/"inversion", ROOT/"bench"/"results"
# one small UNet for all three networks: the library's `mnist-cpu` preset (the `mnist` one, 1.9M parameters, costs
# seconds per batch on this CPU)
NET = "mnist-cpu"
STEPS, BS, STEPS_PER_EPOCH, EMA_HALF_LIFE_IMG = 1000, 64, 40, 8000
# the judging classifier's epochs and training images (None: all 60k); samples per generator
JUDGE_EPOCHS, JUDGE_IMAGES, N_SAMPLES = 2, None, 10_000
NETWORKS = {  # name: (wrapper, loss factory of the run length, learning rate, gradient clipping)
    # DSM's summed squared error has gradients in the thousands at the start: RAdam's first steps are plain momentum
    # SGD (no second-moment normalisation) and diverge at lr 1e-3 without clipping
    "dm": (EDMDenoiser, lambda S: L.DSMLoss(), 1e-3, 1.),
    "cm": (ConsistencyModel, lambda S: L.CTLoss(total_steps=S, s1=160), 4e-4, None),
    "noiser": (Noiser, lambda S: L.CTInversionLoss(total_steps=S, s1=160), 4e-4, None),
    # one network both ways, the same steps and batch as each network above; u uniform over the grid (the toy of 13_bcm:
    # the authors' lognormal u never trains the jump to T)
    "bcm": (lambda net: BCMObjective(BCM(net)), lambda S: BCMLoss(total_steps=S, s1=160, u_law="uniform"), 4e-4, None),
}
OPTIONAL = {"bcm"}  # evaluated when its checkpoint exists

def make_model(name:str)->nn.Module:
    ("The wrapped network `name` ('dm', 'cm', 'noiser', 'bcm'), channels-last "
     "(about 20% faster convolutions on this CPU).")
    return NETWORKS[name][0](unet_preset(NET, two_levels=name == "bcm")).to(
        memory_format=torch.channels_last)

# ---------------------------------------------------------------------------------------------- training
class StepsPerEpoch(Callback):
    "End each training epoch after `n` batches (an epoch = `n` batches of a fresh shuffle of the 60k images)."
    order = 100
    def __init__(self, n:int): self.n = n
    def after_batch(self):
        if self.training and self.iter + 1 >= self.n: raise CancelTrainException

class NoValidation(Callback):
    "Skip the validation pass: the test images are kept for the evaluation only."
    def before_validate(self): raise CancelValidException

class EpochLog(Callback):
    "One line per epoch: step, training loss, CPU and wall seconds (bench script only; library code does not print)."
    order = 80
    def __init__(self, tag): self.tag, self.t0, self.c0 = tag, time.time(), time.process_time()
    def after_epoch(self):
        h = self.learn.cbs.filter(lambda c: type(c).__name__ == "Checkpointer")[0].history
        if h and h[-1]["epoch"] == self.epoch:
            print(f"[{self.tag}] epoch {self.epoch} step {h[-1]['step']} loss {h[-1]['train_loss']:.5g} "
                  f"cpu {time.process_time() - self.c0:.0f}s wall {time.time() - self.t0:.0f}s", flush=True)

def train(name:str, steps:int=STEPS, bs:int=BS, spe:int=STEPS_PER_EPOCH, seed:int=0):
    "Train network `name` for `steps` steps with checkpoints in bench/checkpoints; resumes from them."
    wrap, make_loss, lr, clip = NETWORKS[name]
    if steps % spe: raise ValueError(f"steps ({steps}) must be a multiple of the steps per epoch ({spe})")
    torch.manual_seed(seed)
    dls = get_dls("mnist", bs=bs, seed=seed, n_valid=bs, device="cpu")
    config = dict(network=name, net=NET, steps=steps, bs=bs, steps_per_epoch=spe, lr=lr, clip=clip, seed=seed,
                  ema_half_life_img=EMA_HALF_LIFE_IMG, loss=type(make_loss(steps)).__name__)
    learn = consistency_learner(dls, make_model(name), make_loss(steps), lr=lr, ema=None,
                                ema_half_life_img=EMA_HALF_LIFE_IMG, clip=clip, ckpt_dir=CKPT/name, ckpt_every=1,
                                seed=seed, config=config, quiet=True,
                                cbs=[StepsPerEpoch(spe), NoValidation(), EpochLog(name)])
    print(f"[{name}] {n_params(learn.model)} parameters, {steps} steps of {bs} images, lr {lr}, clip {clip}",
          flush=True)
    learn.fit_ct(steps//spe, resume=True)
    return learn

def load_ema(name:str)->nn.Module:
    "The EMA weights of the trained network `name`, in eval mode."
    meta, w, _ = read_checkpoint(CKPT/name)
    model = make_model(name)
    model.load_state_dict({k[len("ema_model."):]: v for k, v in w.items() if k.startswith("ema_model.")})
    return model.eval().requires_grad_(False), meta

# ---------------------------------------------------------------------------------------------- evaluation
def _cpu_name()->str:
    try: return next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration): return platform.machine()

def _test_images(n_eval:int, seed:int):
    "All MNIST test images, and the indices of the fixed seeded subset of `n_eval` (sorted)."
    test = load_mnist(split="test")
    return test, torch.randperm(len(test.x), generator=torch.Generator().manual_seed(seed))[:n_eval].sort().values

def _lpips():
    "LPIPS-Alex and None, or None and why (no weights here)."
    from ctinv.metrics import lpips_model
    try: return lpips_model("alex"), None
    except FileNotFoundError as e: return None, str(e)   # the message names ~, not the home folder

def _training(m:dict, **extra)->dict:
    "What a checkpoint's JSON says of its training."
    return dict(steps=m["step"], batch=m["config"]["bs"], images=m["step"]*m["config"]["bs"], lr=m["config"]["lr"],
                loss=m["config"]["loss"], final_train_loss=m["history"][-1]["train_loss"],
                seed=m["config"].get("seed", 0), **extra)

def _device()->str:
    return (f"CPU ({_cpu_name()}), {torch.get_num_threads()} thread(s), shared with other jobs "
            f"(load ~{os.getloadavg()[0]:.0f} on 2 cores)")

def evaluate(n_eval:int=2048, # test images, a fixed seeded subset (10000: all)
             bs:int=128, seed:int=0, out:Path=RESULTS, n_show:int=12,
             full_ct:bool=True, # also score the 2-NFE CT_Inv+CM row on all 10,000 test images
             bcm:bool=True, # add the BCM rows and the sample quality when the BCM is trained
            )->list:
    "Table 1 (`ctinv.inversion.table1`) on test images; write JSON, markdown and a PNG of reconstruction rows."
    torch.manual_seed(seed)
    nets = {k: load_ema(k) for k in NETWORKS if k not in OPTIONAL or (bcm and (CKPT/k/"checkpoint.json").exists())}
    D, f, g = (nets[k][0] for k in ("dm", "cm", "noiser"))
    test, idx = _test_images(n_eval, seed)
    x_all = test.x[idx]
    lp, lp_why = _lpips()
    res, shown = table1(D, f, g, x_all, bs=bs, lp=lp, seed=seed + 1, n_show=n_show)
    full = None
    if full_ct:  # the cheap row on the whole test set, to show the subset is representative
        enc, dec, _ = pipelines(D, f, g)
        gen, sc = torch.Generator().manual_seed(seed + 2), []
        for b0 in range(0, len(test.x), bs):
            x = test.x[b0:b0 + bs]
            with torch.no_grad(): sc.append(recon_scores(dec["CM"](enc["CT_Inv"](x, gen)), x, lp))
        full = {k: torch.cat([s[k] for s in sc]).mean().item() for k in sc[0]} | dict(n_images=len(test.x))
    training = {k: _training(m) for k, (_, m) in nets.items() if k not in OPTIONAL}
    device = _device()
    notes = ("CPU-budget networks, far from the CT Inversion report's 100k iterations (~40 GPU-hours): "
             + ", ".join(f"{k} {v['steps']} steps x {v['batch']} images ({v['loss']})" for k, v in training.items())
             + f"; one UNet for the three, unet_preset({NET!r}) ({n_params(D)} params); EMA weights. "
             + f"Test images: a fixed subset of {len(x_all)} of the 10,000 (seed {seed})."
             + ("" if lp is None else " LPIPS-Alex on 32x32 upsampled, 3-channel copies.")
             + (f" LPIPS null: {lp_why}" if lp is None else "")
             + " BCM rows: bench/inversion.py --eval-bcm, once bench/inversion.py --train bcm has run.")
    for r in res:
        r.update(device=device, notes=notes, training=training)
        if full and r["method"] == "CT_Inv+CM": r["full_test_set"] = full
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out/"inversion.json", res)
    (out/"inversion.md").write_text(markdown(res))
    save_grid(torch.cat([x_all[:n_show]] + [shown[r] for r in TABLE1_ROWS]), out/"inversion_mnist_rows.png",
              nrow=n_show)
    if "bcm" in nets: res = evaluate_bcm(n_eval, bs, seed, out, n_show)
    return res

def evaluate_bcm(n_eval:int=2048, bs:int=128, seed:int=0, out:Path=RESULTS, n_show:int=12)->list:
    ("Add (or replace) the BCM rows of out/inversion.json (same test images and seeds as `evaluate`) "
     "and score the one-step samples.")
    f = out/"inversion.json"
    if not f.exists():
        raise SystemExit(f"{f} is absent: run bench/inversion.py --eval first (the BCM rows are added to its table)")
    if not (CKPT/"bcm"/"checkpoint.json").exists():
        raise SystemExit(f"no BCM checkpoint in {CKPT/'bcm'}: run bench/inversion.py --train bcm first")
    res = [r for r in json.loads(f.read_text()) if not r["method"].startswith("BCM")]
    if res[0]["n_images"] != n_eval:
        raise SystemExit(f"{f} scores {res[0]['n_images']} test images; pass --n-eval {res[0]['n_images']}")
    torch.manual_seed(seed)
    nets = {k: load_ema(k) for k in ("cm", "bcm")}
    test, idx = _test_images(n_eval, seed)
    lp, _ = _lpips()
    rows, shown = bcm_table1_rows(nets["bcm"][0].bcm, test.x[idx], bs=bs, lp=lp, seed=seed + 1, n_show=n_show)
    training = dict(bcm=_training(nets["bcm"][1], u_law="uniform"))
    for r in rows: r.update(device=_device(), training=training,
                            notes="BCM (ctinv.bcm): one UNet with the second-level embedding, "
                            f"{training['bcm']['steps']} steps x {training['bcm']['batch']} images; "
                            "n jumps up, n down.")
    res += rows
    atomic_write_json(out/"inversion.json", res)
    (out/"inversion.md").write_text(markdown(res))
    save_grid(torch.cat([test.x[idx][:n_show]] + list(shown.values())), out/"inversion_bcm_rows.png", nrow=n_show)
    sample_quality(nets, test.x, seed, out)
    return res

def judge(seed:int=0, epochs:int=2, n_images:int|None=None):
    ("The MNIST classifier whose features judge the samples: trained once, "
     "cached as safetensors + JSON beside the checkpoints.")
    from ctinv.metrics import Classifier, train_classifier
    from safetensors.torch import load_file
    path = CKPT/"classifier"
    meta = dict(epochs=epochs, seed=seed, n_images=n_images)
    if (path/"meta.json").exists() and json.loads((path/"meta.json").read_text()) == meta:
        clf = Classifier(1, 10); clf.load_state_dict(load_file(path/"weights.safetensors")); return clf.eval()
    torch.manual_seed(seed)
    with torch.enable_grad():   # callers may hold torch.no_grad()
        clf = train_classifier(get_dls("mnist", bs=256, seed=seed, n_train=n_images, device="cpu"), epochs=epochs)
    path.mkdir(parents=True, exist_ok=True)
    atomic_save_tensors({k: v.contiguous() for k, v in clf.state_dict().items()}, path/"weights.safetensors")
    atomic_write_text(path/"meta.json", json.dumps(meta))
    return clf

@torch.no_grad()
def sample_quality(nets:dict, real:Tensor, seed:int, out:Path, n:int|None=None, bs:int=500)->list:
    ("Unconditional samples from one latent draw: CM f(Tz, T) and BCM with 1, 2, 4 jumps; "
     "classifier FD / precision / recall against `real`.")
    from ctinv.metrics import classifier_metrics
    f, F = nets["cm"][0], nets["bcm"][0].bcm
    n = n or N_SAMPLES
    clf, gen = judge(seed, JUDGE_EPOCHS, JUDGE_IMAGES), torch.Generator().manual_seed(seed + 3)
    z = T_MAX*torch.randn(n, *real.shape[1:], generator=gen)
    gens = {"CM (1 NFE)": (1, lambda zb: f(zb, torch.full((len(zb),), T_MAX)).clamp(-1, 1))}
    gens |= {f"BCM ({k} NFE)": (k, lambda zb, k=k: bcm_generate(F, zb, k)) for k in (1, 2, 4)}
    rows, grids = [], []
    for name, (nfe, g) in gens.items():
        t0 = time.perf_counter()
        x = torch.cat([g(z[i:i + bs]) for i in range(0, n, min(bs, n))])
        sync_device(x)
        dt, m = time.perf_counter() - t0, classifier_metrics(clf, real, x)   # images per second of the generator alone
        rows.append(dict(method=name, nfe=nfe, fd_classifier=m["FD-classifier"], precision=m["precision-classifier"],
                         recall=m["recall-classifier"], images_per_s=n/dt, n_samples=n, n_real=len(real)))
        grids.append(x[:12])
    atomic_write_json(out/"inversion_samples.json", dict(
        rows=rows, judge=f"ctinv.metrics.Classifier, {JUDGE_EPOCHS} epochs on {JUDGE_IMAGES or 60_000} MNIST "
                         f"training images",
        real="the 10,000 MNIST test images"))
    save_grid(torch.cat(grids), out/"inversion_samples.png", nrow=12)
    return rows

def markdown(res:list)->str:
    "The table, the full-test-set line and the notes."
    full = next((r["full_test_set"] for r in res if "full_test_set" in r), None)
    ssims = ", ".join(f"{name} {full[k]:.4f}"
                      for k, name in (("ssim", "SSIM"), ("ssim_torchmetrics", "SSIM (torchmetrics, earlier)"))
                      if full and k in full)
    extra = "" if not full else (f"\nCT_Inv+CM on all {full['n_images']} test images: {ssims}, PSNR {full['psnr']:.2f}"
                                 + (f", LPIPS {full['lpips']:.4f}" if "lpips" in full else "") + ".\n")
    bcm = next((f"\n{r['notes']}\n" for r in res if r["method"].startswith("BCM")), "")
    return (table1_markdown(res) + extra
            + f"\n{res[0]['n_images']} MNIST test images; {res[0]['device']}.\n\n{res[0]['notes']}\n" + bcm)

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", choices=list(NETWORKS), help="train (or resume) one network")
    p.add_argument("--steps", type=int, default=STEPS)
    p.add_argument("--spe", type=int, default=STEPS_PER_EPOCH, help="steps per epoch (= per checkpoint)")
    p.add_argument("--eval", action="store_true",
                   help="evaluate the four pipelines (and the BCM rows when it is trained)")
    p.add_argument("--judge-epochs", type=int, default=JUDGE_EPOCHS,
                   help="epochs of the classifier judging the samples (cached per value)")
    p.add_argument("--judge-images", type=int, default=JUDGE_IMAGES,
                   help="train the judge on a subset of this many images (default: all)")
    p.add_argument("--n-samples", type=int, default=N_SAMPLES,
                   help="samples per generator for the sample-quality table")
    p.add_argument("--eval-bcm", action="store_true",
                   help="add the BCM rows to an existing inversion.json (--eval does it when the BCM is trained)")
    p.add_argument("--ckpt-dir", default=str(CKPT), help="checkpoint folder (one subfolder per network)")
    p.add_argument("--n-eval", type=int, default=2048, help="test images (a fixed seeded subset; 10000 = all)")
    p.add_argument("--results", default=str(RESULTS), help="folder of inversion.json, inversion.md and the PNG")
    p.add_argument("--no-full", action="store_true", help="skip the CT_Inv+CM row on all 10,000 test images")
    p.add_argument("--no-bcm", action="store_true",
                   help="--eval: leave out the BCM rows and the sample quality even when the BCM is trained")
    p.add_argument("--seed", type=int, default=0,
                   help="--train: the training seed (weights, batch order, noise); the evaluation's test "
                                                      "subset and encoder noise are always seed 0's")
    a = p.parse_args()
    if a.seed < 0: p.error(f"--seed must be >= 0, got {a.seed}")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    CKPT, JUDGE_EPOCHS, JUDGE_IMAGES, N_SAMPLES = Path(a.ckpt_dir), a.judge_epochs, a.judge_images, a.n_samples
    if a.train: train(a.train, a.steps, spe=a.spe, seed=a.seed)
    if a.eval: print(markdown(evaluate(a.n_eval, out=Path(a.results), full_ct=not a.no_full, bcm=not a.no_bcm)))
    elif a.eval_bcm: print(markdown(evaluate_bcm(a.n_eval, out=Path(a.results))))
