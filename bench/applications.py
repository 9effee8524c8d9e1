#!/usr/bin/env python
"""Zero-shot uses of a one-step model on the held-out digits (14_applications): inpainting and super-resolution
(Consistency Models Alg. 4 against a diffusion model with the same projection), denoising at a known level and
interpolation between noiser latents.

The consistency model is the iGCT denoiser of the default `ctinv_train` job (reused with --pair RUN, else trained
into runs/applications/pair); the diffusion model is the class-conditional EDM of the `digits` preset (11_guidance's
CFG-EDM baseline, trained here, 1,800 steps). Writes bench/results/applications.json and applications_*.png.

The colour part (colourisation, centre inpainting and x2 super-resolution on 256 CIFAR-10 test images) trains a
class-conditional CT consistency model and EDM on the `cifar10-cpu` UNet (the 10k training subset; the CIFAR-10 files
of 04c_data, found through CTINV_DATA) and writes applications_colour.json and applications_colour.png.

    python bench/applications.py [--pair RUN | --runs DIR] [--quick] [--parts digits colour]
"""
from __future__ import annotations
import argparse, math, os, sys, time
from pathlib import Path
import torch
import matplotlib; matplotlib.use("Agg")   # figures are written, never shown

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from ctinv.data import get_dls
from ctinv.images import run_train, held_out
from ctinv.guidance import load_pair, train_cfg_edm
from ctinv.applications import (TASKS, COLOUR_TASKS, zero_shot_rows, denoising_rows, interpolation_rows,
                                train_cm, colourfulness, task_grid, interpolation_figure)
from ctinv.presets import TRAIN_PRESETS
from ctinv.core import atomic_write_json

PARTS = ("digits", "colour")

def save(fig, path):
    import matplotlib.pyplot as plt
    fig.savefig(path, dpi=70); plt.close(fig)

def figures(x, outs, frames, out:Path, n:int=6):
    save(task_grid(x, outs, TASKS, n), out/"applications_zero_shot.png")
    save(interpolation_figure(frames), out/"applications_interpolation.png")

def colour(quick:bool=False, out=ROOT/"bench"/"results", seed:int=0, n:int=256):
    "Colourisation, centre inpainting and x2 SR on `n` CIFAR-10 test images with a CT consistency model and an EDM."
    t0, c0 = time.time(), time.process_time()
    p = TRAIN_PRESETS["cifar10-cpu"]
    steps, n = (30, 32) if quick else (p["steps"], n)
    # the held-out images are the validation set (fastai validates every epoch: not all 10k test images)
    # quick: one epoch
    dls = get_dls("cifar10", bs=p["bs"], seed=seed, device="cpu", n_train=steps*p["bs"] if quick else None, n_valid=n)
    print(f"training the CIFAR-10 consistency model ({steps} steps)", flush=True)
    c1 = time.process_time(); cm = train_cm(dls, "cifar10-cpu", steps=steps, seed=seed); cm_s = time.process_time() - c1
    print(f"training the CIFAR-10 EDM ({steps} steps)", flush=True)
    c1 = time.process_time(); dm = train_cfg_edm(dls, "cifar10-cpu", steps=steps, seed=seed)
    dm_s = time.process_time() - c1
    x, y = held_out(dls)
    rows, outs = zero_shot_rows(cm, dm, x, y, tasks=COLOUR_TASKS, seed=seed)
    for r in rows:
        if r["task"] == "colorize": r["colourfulness"] = colourfulness(outs["colorize", r["method"]])
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    setup = (f"{len(x)} CIFAR-10 test images (3x32x32, a random subset, seed {seed}, "
             f"{len(dls.train.dataset)} training images); CM: class-conditional CT (iCT loss) and "
             f"DM: class-conditional EDM, both the cifar10-cpu UNet, "
             f"{len(dls.train)*math.ceil(steps/len(dls.train))} steps of batch {p['bs']} ("
             f"{cm_s:.0f} and {dm_s:.0f} CPU s), the true class; {time.process_time() - c0:.0f} CPU s in all, "
             f"{torch.get_num_threads()} thread(s)")
    res = dict(setup=setup, quick=quick, steps=steps, data_colourfulness=colourfulness(x),
               train_cpu_s=dict(cm=round(cm_s, 1), dm=round(dm_s, 1)), zero_shot=rows)
    atomic_write_json(out/"applications_colour.json", res)
    save(task_grid(x, outs, COLOUR_TASKS), out/"applications_colour.png")
    for r in rows: print(f"{r['task']:15s} {r['method']:14s} PSNR {r['psnr']:6.2f}  SSIM {r['ssim']:.3f}")
    print(f"colour part {time.time() - t0:.0f} s")
    return res

def main(pair_run=None, quick:bool=False, out=ROOT/"bench"/"results", seed:int=0, parts=PARTS,
         runs=ROOT/"runs"/"applications"):
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    res = {}
    if "digits" in parts: res["digits"] = digits(pair_run, quick, out, seed, runs)
    if "colour" in parts: res["colour"] = colour(quick, out, seed)
    return res

def digits(pair_run=None, quick:bool=False, out=ROOT/"bench"/"results", seed:int=0, runs=ROOT/"runs"/"applications"):
    t0, c0 = time.time(), time.process_time()
    if pair_run is None:
        pair_run = Path(runs)/("pair_quick" if quick else "pair")
        if not (pair_run/"metrics.json").exists():
            print(f"training the pair into {pair_run}", flush=True)
            run_train(out=pair_run, force=True,
                      **(dict(preset="tiny", n_eval=64, n_edit=16, classifier_epochs=1) if quick else {}))
    pair = load_pair(pair_run)
    dls = get_dls("digits", bs=64, seed=seed, device="cpu")
    print("training the class-conditional EDM", flush=True)
    dm = train_cfg_edm(dls, "tiny" if quick else "digits", seed=seed)
    x, y = held_out(dls)
    kw = dict(cm_kw=dict(w=0.))
    zrows, outs = zero_shot_rows(pair.denoiser, dm, x, y, seed=seed, **kw)
    drows = denoising_rows(pair.denoiser, dm, x, y, seed=seed, **kw)
    irows, frames = interpolation_rows(pair, x, y, seed=seed, **kw)
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    setup = (f"{len(x)} held-out digits (8x8); CM: the iGCT denoiser of {pair_run.name} (w = 0, the true class); "
             f"DM: class-conditional EDM, preset {'tiny' if quick else 'digits'} (the true class); seed {seed}; "
             f"{time.process_time() - c0:.0f} CPU s in all, {torch.get_num_threads()} thread(s)")
    res = dict(setup=setup, quick=quick, zero_shot=zrows, denoising=drows, interpolation=irows)
    atomic_write_json(out/"applications.json", res)
    figures(x, outs, frames, out)
    for r in zrows: print(f"{r['task']:15s} {r['method']:14s} PSNR {r['psnr']:6.2f}  SSIM {r['ssim']:.3f}")
    print(f"total {time.time() - t0:.0f} s")
    return res

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pair", default=None, help="a finished ctinv_train run folder on the digits (default: train one)")
    p.add_argument("--quick", action="store_true", help="tiny preset models (a check of the script, minutes)")
    p.add_argument("--out", default=str(ROOT/"bench"/"results"))
    p.add_argument("--runs", default=str(ROOT/"runs"/"applications"),
                   help="where the pair is trained when --pair is not given")
    p.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS,
                   help="digits: the held-out digits; colour: CIFAR-10")
    a = p.parse_args()
    main(None if a.pair is None else Path(a.pair), a.quick, a.out, parts=a.parts, runs=a.runs)
