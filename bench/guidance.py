#!/usr/bin/env python
"""Guided generation and style-preserving editing on the digits: iGCT against CFG-EDM, CFG with a guidance interval, APG and guided CD.

    python bench/guidance.py [--preset digits] [--steps N] [--igct RUN] [--n_per_class 100] [--out bench/results]

Trains (same UNet preset, data and seed for all) the class-conditional EDM with label dropout (the CFG teacher and the
DDIM-inversion baseline), guided CD distilled from it and, unless `--igct RUN` names a finished `ctinv_train` run, the
iGCT pair; trains the library classifier; then, for each method and w in {0, 1, 3, 6, 9, 12}, samples `n_per_class`
images per class from the same latents and measures precision / recall (k = 3) and the Frechet distance on the
classifier's features against the held-out images, class accuracy and saturation. Writes OUT/guidance.json (rows:
method, w, nfe, precision, recall, fd, class_acc, saturation, images_per_s, ...), OUT/guidance_curves.png and
OUT/guidance_samples.png. Inception-based numbers are not computed here (no Inception weights on this machine): see
`ctinv.metrics.inception_metrics` for scoring with user-provided weights.
"""
import argparse, json, os, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--preset', default='digits'); p.add_argument('--steps', type=int, default=None)
    p.add_argument('--igct', default=None, help='a finished ctinv_train run folder to take the iGCT pair from')
    p.add_argument('--n_per_class', type=int, default=100); p.add_argument('--n_edit', type=int, default=100)
    p.add_argument('--seed', type=int, default=0); p.add_argument('--out', default=str(ROOT/'bench'/'results'))
    a = p.parse_args()
    import torch
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', 1)))
    from ctinv.data import get_dls
    from ctinv.train import train_pair
    from ctinv.metrics import train_classifier
    from ctinv.images import held_out
    from ctinv.guidance import (train_cfg_edm, train_guided_cd, load_pair, guidance_sweep, editing_rows, plot_guidance,
                                sample_rows_grid, W_GRID)
    from ctinv.presets import TRAIN_PRESETS
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    log = lambda s: print(s, flush=True)
    dls = get_dls('digits', bs=TRAIN_PRESETS[a.preset]['bs'], seed=a.seed, device='cpu')
    cost, t0 = {}, time.process_time()
    edm = train_cfg_edm(dls, a.preset, a.steps, seed=a.seed); cost['cfg_edm_cpu_s'] = time.process_time() - t0; log(f"CFG-EDM trained ({cost['cfg_edm_cpu_s']:.0f} CPU s)")
    t0 = time.process_time()
    gcd = train_guided_cd(edm, dls, a.preset, a.steps, seed=a.seed + 1); cost['guided_cd_cpu_s'] = time.process_time() - t0; log(f"guided CD trained ({cost['guided_cd_cpu_s']:.0f} CPU s)")
    t0 = time.process_time()
    pair = load_pair(a.igct) if a.igct else train_pair(dls, 'igct', a.preset, a.steps, seed=a.seed).ema_model.eval().requires_grad_(False)
    cost['igct_cpu_s'] = time.process_time() - t0; log(f"iGCT {'loaded' if a.igct else 'trained'} ({cost['igct_cpu_s']:.0f} CPU s)")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(a.seed); clf = train_classifier(dls, epochs=5)
    models, (x, y) = dict(igct=pair, edm=edm, guided_cd=gcd), held_out(dls)
    rows = guidance_sweep(models, clf, x, a.n_per_class, W_GRID, seed=a.seed, log=log)
    xe, ye = held_out(dls, a.n_edit, seed=a.seed)
    edits = editing_rows(models, clf, xe, ye, ws=(0., 3., 6., 12.))
    for r in edits: log(f"edit {r['method']:9s} w={r['w']:4.1f} acc {r['edit_acc']:.3f} SSIM {r['edit_ssim']:.3f} PSNR {r['edit_psnr']:.2f} recon PSNR {r['recon_psnr']:.2f} {r['edits_per_s']:.0f} edits/s")
    res = dict(data='digits', preset=a.preset, steps=a.steps or TRAIN_PRESETS[a.preset]['steps'], seed=a.seed, n_per_class=a.n_per_class,
               reference='held-out digits (classifier features)', n_reference=len(x), torch_threads=torch.get_num_threads(),
               features='library classifier (penultimate layer); Inception-based FID/precision/recall need user-provided weights',
               cost=cost, rows=rows, editing=edits, igct_run=a.igct)
    (out/'guidance.json').write_text(json.dumps(res, indent=2))
    plot_guidance(rows).savefig(out/'guidance_curves.png', dpi=70, bbox_inches='tight')
    sample_rows_grid(models, (0., 3., 12.), dls.meta, out/'guidance_samples.png', seed=a.seed)
    log(f"wrote {out/'guidance.json'}, {out/'guidance_curves.png'}, {out/'guidance_samples.png'}")

if __name__ == '__main__': main()
