#!/usr/bin/env python
"""CTM on images next to CT and iGCT (12_ctm): one-step, two-step and gamma-sampled digits, \
scored by the library classifier.

    python bench/ctm_images.py [--data digits|mnist] [--steps N] [--n-samples 1000] [--out bench/results]

Three class-conditional models on the same UNet (the preset's: `digits` for the digits, `mnist-cpu` for MNIST), the
same optimiser steps and batch, seed 0: a CTM by soft matching from scratch (`ctinv.ctm.train_ctm_images`), a
consistency model by consistency training (`ctinv.applications.train_cm`) and the main job's iGCT pair
(`ctinv.train.train_pair`; its denoiser, w = 0). Every method samples the same latents with the same balanced labels:
1 NFE, 2 NFE (T -> 0.821 -> eps: CTM with gamma 0 and 1, CT and iGCT by multistep sampling) and CTM's 4-NFE
gamma-sampling for gamma in {0, 0.3, 0.6, 1}. Scores against the held-out images: classifier-feature Frechet distance,
precision and recall (k = 3), the share of samples the classifier puts in the class asked for and saturation
(`ctinv.guidance.guidance_row`, the guidance sweep's scores); the same for the held-out images against themselves
(halves) as the floor. Writes OUT/ctm_images.json and OUT/ctm_images.png.
"""
import argparse, os, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PRESET = {"digits": "digits", "mnist": "mnist-cpu"}
MID = 0.821   # the 2-NFE intermediate level of Consistency Models / CTM

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="digits", choices=list(PRESET))
    p.add_argument("--steps", type=int, default=None,
                   help="optimiser steps of each model (default: 460 on digits, the preset's on MNIST)")
    p.add_argument("--n-samples", type=int, default=1000)
    p.add_argument("--classifier-epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT/"bench"/"results"))
    a = p.parse_args(argv)
    for k in ("steps", "n_samples", "classifier_epochs"):
        v = getattr(a, k)
        if v is not None and v < 1: p.error(f"--{k.replace('_', '-')} must be at least 1, got {v}")
    import torch
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from ctinv.data import get_dls
    from ctinv.presets import TRAIN_PRESETS
    from ctinv.pfode import T_MAX, EPS, karras_sigmas
    from ctinv.ctm import train_ctm_images
    from ctinv.applications import train_cm
    from ctinv.train import train_pair
    from ctinv.samplers import cm_sample, multistep_sample, gamma_sample, sync_device
    from ctinv.metrics import train_classifier, classifier_features
    from ctinv.guidance import guidance_row
    from ctinv.images import held_out
    preset = PRESET[a.data]
    steps = a.steps or (460 if a.data == "digits" else TRAIN_PRESETS[preset]["steps"])
    dls = get_dls(a.data, bs=TRAIN_PRESETS[preset]["bs"], seed=a.seed, device="cpu")
    meta, cpu = dls.meta, {}
    def timed(name, fn):
        c0 = time.process_time(); out = fn(); cpu[name] = round(time.process_time() - c0, 1)
        print(f"{name}: {cpu[name]:.0f} CPU s", flush=True); return out
    ctm = timed("CTM", lambda: train_ctm_images(dls, preset, steps, a.seed))
    cm = timed("CT", lambda: train_cm(dls, preset, steps, a.seed))
    igct = timed("iGCT", lambda: train_pair(dls, "igct", preset, steps=steps, seed=a.seed)
                                 .ema_model.eval().requires_grad_(False).denoiser)
    clf = timed("classifier", lambda: train_classifier(dls, epochs=a.classifier_epochs))
    real, real_y = (v.cpu() for v in held_out(dls))
    g = torch.Generator().manual_seed(a.seed + 1)
    n, shape = a.n_samples, (meta.channels, meta.resolution, meta.resolution)
    z = T_MAX*torch.randn(n, *shape, generator=g)
    labels = torch.arange(n) % meta.n_classes
    gen = lambda k: torch.Generator().manual_seed(a.seed + 10 + k)       # the same re-noising draws for every method
    four = karras_sigmas(5).flip(0).tolist()
    runs = {
        "CT (1 NFE)": (1, lambda: cm_sample(cm, z, labels=labels)),
        "iGCT (1 NFE)": (1, lambda: cm_sample(igct, z, labels=labels, w=0.)),
        "CTM (1 NFE)": (1, lambda: gamma_sample(ctm, z, [T_MAX, EPS], labels=labels)),
        "CT (2 NFE)": (2, lambda: multistep_sample(cm, z, [MID], gen(0), labels=labels)),
        "iGCT (2 NFE)": (2, lambda: multistep_sample(igct, z, [MID], gen(0), labels=labels, w=0.)),
        "CTM (2 NFE, γ = 0)": (2, lambda: gamma_sample(ctm, z, [T_MAX, MID, EPS], 0., labels=labels)),
        "CTM (2 NFE, γ = 1)": (2, lambda: gamma_sample(ctm, z, [T_MAX, MID, EPS], 1., gen(0), labels=labels)),
        **{f"CTM (4 NFE, γ = {gm})": (4, lambda gm=gm: gamma_sample(ctm, z, four, gm, gen(1), labels=labels))
           for gm in (0., .3, .6, 1.)},
    }
    rows, grids, rf = [], {}, classifier_features(clf, real)
    with torch.no_grad():
        for name, (nfe, run) in runs.items():
            t0 = time.perf_counter(); x = run().clamp(-1, 1); sync_device(x); dt = time.perf_counter() - t0
            r = guidance_row(x, labels, clf, real, rf)       # the guidance sweep's scores (11_guidance)
            rows.append(dict(method=name, nfe=nfe, **r, images_per_s=n/dt))
            grids[name] = x[:20]
            print(f"{name:22s} FD {r['fd']:8.2f}  P {r['precision']:.3f}  R {r['recall']:.3f}  "
                  f"acc {r['class_acc']:.3f}", flush=True)
        rows.append(dict(method="held-out vs held-out (halves)", nfe=0,
                         **guidance_row(real[1::2], real_y[1::2], clf, real[::2]), images_per_s=None))
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    setup = (f"{a.data}: CTM, CT and iGCT, class-conditional, the {preset} preset's UNet, "
             f"{len(dls.train)*max(1, -(-steps//len(dls.train)))} steps of batch {TRAIN_PRESETS[preset]['bs']} each, "
             f"seed {a.seed}; {n} samples from one latent draw with balanced labels against the {len(real)} held-out "
             f"images; judge: ctinv.metrics.Classifier, {a.classifier_epochs} epochs; CPU s: "
             + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items()) + f"; {torch.get_num_threads()} thread(s)")
    from ctinv.core import atomic_write_json
    atomic_write_json(out/"ctm_images.json", dict(setup=setup, data=a.data, steps=steps, train_cpu_s=cpu,
                                                  rows=rows))
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(len(grids), 1, figsize=(7, 0.5*len(grids) + 0.3))
    for ax, (name, x) in zip(axs, grids.items()):
        ax.imshow(torch.cat(list(x[:, 0]), 1), cmap="gray", vmin=-1, vmax=1)
        ax.set_ylabel(name, rotation=0, ha="right", fontsize=7)
        ax.set_xticks([]); ax.set_yticks([])
    fig.tight_layout(); fig.savefig(out/"ctm_images.png", dpi=70); plt.close(fig)
    return rows

if __name__ == "__main__": main()
