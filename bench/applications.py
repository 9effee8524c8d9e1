#!/usr/bin/env python
"""Zero-shot uses of a one-step model on the held-out digits (12_applications): inpainting and super-resolution
(Consistency Models Alg. 4 against a diffusion model with the same projection), denoising at a known level and
interpolation between noiser latents.

The consistency model is the iGCT denoiser of the default `ctinv_train` job (reused with --pair RUN, else trained
into runs/applications/pair); the diffusion model is the class-conditional EDM of the `digits` preset (14_guidance's
CFG-EDM baseline, trained here, 1,800 steps). Writes bench/results/applications.json and applications_*.png.

    python bench/applications.py [--pair RUN] [--quick]
"""
from __future__ import annotations
import argparse, json, os, sys, time
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from ctinv.data import get_dls
from ctinv.images import run_train, held_out
from ctinv.guidance import load_pair, train_cfg_edm
from ctinv.applications import TASKS, zero_shot_rows, denoising_rows, interpolation_rows, observed

def figures(x, outs, frames, out:Path, n:int=6):
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    methods = [m for m in dict.fromkeys(k[1] for k in outs)]
    fig, axs = plt.subplots(len(TASKS), 1 + len(methods), figsize=(1.1*n*(1 + len(methods))/2.2, 1.25*len(TASKS)))
    for i, task in enumerate(TASKS):
        for j, (name, im) in enumerate([("ground truth", x[:n])] + [(m, outs[task, m][:n]) for m in methods]):
            ax = axs[i, j]
            ax.imshow(torch.cat(list(im[:, 0]), 1), cmap="gray", vmin=-1, vmax=1); ax.set_xticks([]); ax.set_yticks([])
            if i == 0: ax.set_title(name, fontsize=8)
            if j == 0: ax.set_ylabel(task, fontsize=8)
    fig.tight_layout(); fig.savefig(out/"applications_zero_shot.png", dpi=70); plt.close(fig)
    fig, axs = plt.subplots(len(frames), 1, figsize=(7, 1.1*len(frames)*2))
    for ax, (name, fr) in zip(axs, frames.items()):
        grid = torch.cat([torch.cat(list(fr[:, k, 0]), 1) for k in range(2)], 0)     # two paths, one row each
        ax.imshow(grid, cmap="gray", vmin=-1, vmax=1); ax.set_title(name, fontsize=9); ax.axis("off")
    fig.tight_layout(); fig.savefig(out/"applications_interpolation.png", dpi=70); plt.close(fig)

def main(pair_run=None, quick:bool=False, out=ROOT/"bench"/"results", seed:int=0):
    t0, c0 = time.time(), time.process_time()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    if pair_run is None:
        pair_run = ROOT/"runs"/"applications"/("pair_quick" if quick else "pair")
        if not (pair_run/"metrics.json").exists():
            print(f"training the pair into {pair_run}", flush=True)
            run_train(out=pair_run, force=True, **(dict(preset="tiny", n_eval=64, n_edit=16, classifier_epochs=1) if quick else {}))
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
    (out/"applications.json").write_text(json.dumps(res, indent=1))
    figures(x, outs, frames, out)
    for r in zrows: print(f"{r['task']:15s} {r['method']:14s} PSNR {r['psnr']:6.2f}  SSIM {r['ssim']:.3f}")
    print(f"total {time.time() - t0:.0f} s")
    return res

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pair", default=None, help="a finished ctinv_train run folder on the digits (default: train one)")
    p.add_argument("--quick", action="store_true", help="tiny preset models (a check of the script, minutes)")
    p.add_argument("--out", default=str(ROOT/"bench"/"results"))
    a = p.parse_args()
    main(None if a.pair is None else Path(a.pair), a.quick, a.out)
