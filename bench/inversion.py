#!/usr/bin/env python
"""Table 1 of the CT Inversion report on MNIST: reconstruction by DDIM inversion vs the CT Inversion noiser.

Three unconditional networks share one small UNet: an EDM denoiser `D` (DSMLoss), a consistency model `f`
(CTLoss, iCT) and a noiser `g` (CTInversionLoss), trained on the 60k MNIST training images with the library's
Learner. The four pipelines of `ctinv.inversion` (09_mnist) reconstruct test images:

    DDIM_Inv(30)+DM  30 Euler steps eps -> T with D (31 Karras levels), then 30 EDM Euler steps T -> 0   60 NFE
    DDIM_Inv(30)+CM  the same 30 inversion steps, then f(x_T, T)                                         31 NFE
    CT_Inv+CM        g(x + eps z', eps), then f(., T)                                                     2 NFE
    CT_Inv+DM        g(x + eps z', eps), then 30 EDM Euler steps T -> 0 with D                           31 NFE

These are CPU-budget networks (minutes of one CPU core each), far from the report's 100k iterations (~40 GPU-hours).

    python bench/inversion.py --train dm      # resumable: re-run the same command to continue
    python bench/inversion.py --train cm
    python bench/inversion.py --train noiser
    python bench/inversion.py --eval --n-eval 2048
    python bench/inversion.py --train dm --steps 80 --ckpt-dir /tmp/ck ...; --eval --ckpt-dir /tmp/ck --results /tmp/r   # a check
"""
from __future__ import annotations
import argparse, json, math, os, platform, sys, time
from pathlib import Path
import torch, torch.nn as nn
from torch import Tensor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fastai.basics import Callback, CancelTrainException, CancelValidException
from ctinv.pfode import EPS, T_MAX, EDMDenoiser, ConsistencyModel, Noiser
from ctinv.nets import unet_preset, n_params
from ctinv.data import get_dls, load_mnist, save_grid
from ctinv.train import consistency_learner, read_checkpoint
from ctinv.inversion import TABLE1_ROWS, pipelines, recon_scores, table1, table1_markdown
import ctinv.losses as L

CKPT, RESULTS = ROOT/"bench"/"checkpoints"/"inversion", ROOT/"bench"/"results"
# one small UNet for all three networks (the `mnist` preset, 1.9M parameters, costs seconds per batch on this CPU)
NET = dict(model_channels=16, channel_mult=(1, 2, 2), num_blocks=1, attn_resolutions=(), dropout=0.)
STEPS, BS, STEPS_PER_EPOCH, EMA_HALF_LIFE_IMG = 1000, 64, 40, 8000
NETWORKS = {  # name: (wrapper, loss factory of the run length, learning rate, gradient clipping)
    # DSM's summed squared error has gradients in the thousands at the start: RAdam's first steps are plain momentum
    # SGD (no second-moment normalisation) and diverge at lr 1e-3 without clipping
    "dm": (EDMDenoiser, lambda S: L.DSMLoss(), 1e-3, 1.),
    "cm": (ConsistencyModel, lambda S: L.CTLoss(total_steps=S, s1=160), 4e-4, None),
    "noiser": (Noiser, lambda S: L.CTInversionLoss(total_steps=S, s1=160), 4e-4, None),
}

def make_model(name:str)->nn.Module:
    "The wrapped network `name` ('dm', 'cm', 'noiser'), channels-last (about 20% faster convolutions on this CPU)."
    return NETWORKS[name][0](unet_preset("mnist", **NET)).to(memory_format=torch.channels_last)

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
    learn = consistency_learner(dls, make_model(name), make_loss(steps), lr=lr, ema=None, ema_half_life_img=EMA_HALF_LIFE_IMG, clip=clip,
                                ckpt_dir=CKPT/name, ckpt_every=1, seed=seed, config=config, quiet=True,
                                cbs=[StepsPerEpoch(spe), NoValidation(), EpochLog(name)])
    print(f"[{name}] {n_params(learn.model)} parameters, {steps} steps of {bs} images, lr {lr}, clip {clip}", flush=True)
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

def evaluate(n_eval:int=2048, # test images, a fixed seeded subset (10000: all)
             bs:int=128, seed:int=0, out:Path=RESULTS, n_show:int=12,
             full_ct:bool=True, # also score the 2-NFE CT_Inv+CM row on all 10,000 test images
            )->list:
    "Table 1 (`ctinv.inversion.table1`) on test images; write JSON, markdown and a PNG of reconstruction rows."
    torch.manual_seed(seed)
    nets = {k: load_ema(k) for k in NETWORKS}
    D, f, g = (nets[k][0] for k in ("dm", "cm", "noiser"))
    test = load_mnist(split="test")
    idx = torch.randperm(len(test.x), generator=torch.Generator().manual_seed(seed))[:n_eval].sort().values
    x_all = test.x[idx]
    from ctinv.metrics import lpips_model
    try: lp, lp_why = lpips_model("alex"), None
    except FileNotFoundError as e: lp, lp_why = None, str(e).replace(str(Path.home()), "~")
    res, shown = table1(D, f, g, x_all, bs=bs, lp=lp, seed=seed + 1, n_show=n_show)
    full = None
    if full_ct:  # the cheap row on the whole test set, to show the subset is representative
        enc, dec, _ = pipelines(D, f, g)
        gen, sc = torch.Generator().manual_seed(seed + 2), []
        for b0 in range(0, len(test.x), bs):
            x = test.x[b0:b0 + bs]
            with torch.no_grad(): sc.append(recon_scores(dec["CM"](enc["CT_Inv"](x, gen)), x, lp))
        full = {k: torch.cat([s[k] for s in sc]).mean().item() for k in sc[0]} | dict(n_images=len(test.x))
    training = {k: dict(steps=m["step"], batch=m["config"]["bs"], images=m["step"]*m["config"]["bs"], lr=m["config"]["lr"],
                        loss=m["config"]["loss"], final_train_loss=m["history"][-1]["train_loss"]) for k, (_, m) in nets.items()}
    device = f"CPU ({_cpu_name()}), {torch.get_num_threads()} thread(s), shared with other jobs (load ~{os.getloadavg()[0]:.0f} on 2 cores)"
    notes = ("CPU-budget networks, far from the CT Inversion report's 100k iterations (~40 GPU-hours): "
             + ", ".join(f"{k} {v['steps']} steps x {v['batch']} images ({v['loss']})" for k, v in training.items())
             + f"; one UNet for all three, unet_preset('mnist', **{NET}) ({n_params(D)} params); EMA weights. "
             + f"Test images: a fixed subset of {len(x_all)} of the 10,000 (seed {seed})."
             + ("" if lp is None else " LPIPS-Alex on 32x32 upsampled, 3-channel copies.")
             + (f" LPIPS null: {lp_why}" if lp is None else ""))
    for r in res:
        r.update(device=device, notes=notes, training=training)
        if full and r["method"] == "CT_Inv+CM": r["full_test_set"] = full
    out.mkdir(parents=True, exist_ok=True)
    (out/"inversion.json").write_text(json.dumps(res, indent=1))
    (out/"inversion.md").write_text(markdown(res))
    save_grid(torch.cat([x_all[:n_show]] + [shown[r] for r in TABLE1_ROWS]), out/"inversion_mnist_rows.png", nrow=n_show)
    return res

def markdown(res:list)->str:
    "The table, the full-test-set line and the notes."
    full = next((r["full_test_set"] for r in res if "full_test_set" in r), None)
    ssims = ", ".join(f"{name} {full[k]:.4f}" for k, name in (("ssim", "SSIM"), ("ssim_torchmetrics", "SSIM (torchmetrics, earlier)")) if full and k in full)
    extra = "" if not full else (f"\nCT_Inv+CM on all {full['n_images']} test images: {ssims}, PSNR {full['psnr']:.2f}"
                                 + (f", LPIPS {full['lpips']:.4f}" if "lpips" in full else "") + ".\n")
    return table1_markdown(res) + extra + f"\n{res[0]['n_images']} MNIST test images; {res[0]['device']}.\n\n{res[0]['notes']}\n"

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", choices=list(NETWORKS), help="train (or resume) one network")
    p.add_argument("--steps", type=int, default=STEPS)
    p.add_argument("--spe", type=int, default=STEPS_PER_EPOCH, help="steps per epoch (= per checkpoint)")
    p.add_argument("--eval", action="store_true", help="evaluate the four pipelines")
    p.add_argument("--ckpt-dir", default=str(CKPT), help="checkpoint folder (one subfolder per network)")
    p.add_argument("--n-eval", type=int, default=2048, help="test images (a fixed seeded subset; 10000 = all)")
    p.add_argument("--results", default=str(RESULTS), help="folder of inversion.json, inversion.md and the PNG")
    p.add_argument("--no-full", action="store_true", help="skip the CT_Inv+CM row on all 10,000 test images")
    a = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    CKPT = Path(a.ckpt_dir)
    if a.train: train(a.train, a.steps, spe=a.spe)
    if a.eval: print(markdown(evaluate(a.n_eval, out=Path(a.results), full_ct=not a.no_full)))
