#!/usr/bin/env python
"""Table 1 over training seeds: the three networks of bench/inversion.py (DM, CM, noiser) \
trained with several seeds, every set
scored on the same test subset with the same encoder noise; mean and spread of each row.

    python bench/inversion_seeds.py [--seeds 0 1 2] [--n-eval 1024] [--steps 1000] [--out bench/results]

Only the training seed (weights, batch order, training noise) changes between sets; steps, batch and learning rates are
bench/inversion.py's. Seed s's networks live in CKPT/seed{s} (default CKPT bench/checkpoints/inversion_seeds; with the
default CKPT, seed 0 is bench/checkpoints/inversion, Table 1's own networks). Training resumes from its checkpoints and
an evaluation already written for the same steps and test images is reused, so the command can be re-run after an
interruption. Writes OUT/inversion_seeds/seed{s}/inversion.json per seed and OUT/inversion_seeds.json (mean, sample std,
min and max over the seeds for every row).
"""
import argparse, json, statistics, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INV = ROOT/"bench"/"inversion.py"
NETS = ("dm", "cm", "noiser")
KEYS = ("ssim", "ssim_torchmetrics", "psnr", "latent_std_over_T", "latent_ks", "latent_lowfreq_power", "sec_per_batch")

def ckpt_of(root:Path, seed:int, default:bool)->Path:
    return ROOT/"bench"/"checkpoints"/"inversion" if default and seed == 0 else root/f"seed{seed}"

def spread(rows_per_seed:dict)->list:
    "Per method: mean, sample std, min and max over the seeds of every number in KEYS."
    methods = [r["method"] for r in next(iter(rows_per_seed.values()))]
    out = []
    for m in methods:
        rs = [next(r for r in rows if r["method"] == m) for rows in rows_per_seed.values()]
        row = dict(method=m, seeds=list(rows_per_seed), nfe=rs[0]["nfe"], n_images=rs[0]["n_images"])
        for k in KEYS:
            v = [r[k] for r in rs if r.get(k) is not None]
            if v:
                row[k] = dict(mean=statistics.fmean(v), std=statistics.stdev(v) if len(v) > 1 else None, min=min(v),
                              max=max(v), values=v)
        out.append(row)
    return out

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--n-eval", type=int, default=1024, help="test images (the fixed subset of bench/inversion.py)")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--spe", type=int, default=None, help="steps per epoch (default bench/inversion.py's)")
    p.add_argument("--ckpt-dir", default=None,
                   help="root of the per-seed checkpoint folders (default bench/checkpoints/inversion_seeds)")
    p.add_argument("--out", default=str(ROOT/"bench"/"results"))
    p.add_argument("--train-only", action="store_true", help="train the networks of the seeds, do not evaluate")
    a = p.parse_args(argv)
    if any(s < 0 for s in a.seeds) or len(set(a.seeds)) != len(a.seeds):
        p.error(f"--seeds must be distinct integers >= 0, got {a.seeds}")
    if a.n_eval < 128: p.error(f"--n-eval must be at least one batch of 128, got {a.n_eval}")
    default = a.ckpt_dir is None
    root = ROOT/"bench"/"checkpoints"/"inversion_seeds" if default else Path(a.ckpt_dir)
    out = Path(a.out)
    spe = [] if a.spe is None else ["--spe", str(a.spe)]
    per = {}
    for s in a.seeds:
        ck, res = ckpt_of(root, s, default), out/"inversion_seeds"/f"seed{s}"
        for net in NETS:
            print(f"[seed {s}] training {net} into {ck}", flush=True)
            subprocess.run([sys.executable, str(INV), "--train", net, "--seed", str(s), "--steps", str(a.steps),
                            "--ckpt-dir", str(ck)] + spe, check=True)
        if a.train_only: continue
        f = res/"inversion.json"
        old = json.loads(f.read_text()) if f.exists() else None
        if not (old and old[0]["n_images"] == a.n_eval
                and all(old[0]["training"][n]["steps"] == a.steps for n in NETS)):
            print(f"[seed {s}] evaluating on {a.n_eval} test images into {res}", flush=True)
            subprocess.run([sys.executable, str(INV), "--eval", "--no-full", "--no-bcm", "--ckpt-dir", str(ck),
                            "--results", str(res), "--n-eval", str(a.n_eval)], check=True, stdout=subprocess.DEVNULL)
        per[s] = json.loads(f.read_text())
    if a.train_only: return 0
    rows = spread(per)
    from ctinv.core import atomic_write_json
    atomic_write_json(out/"inversion_seeds.json", dict(
        setup=f"bench/inversion.py networks, {a.steps} steps each, training seeds {a.seeds}; {a.n_eval} MNIST test "
              f"images (the fixed subset of seed 0) with seed 0's encoder noise; std: the sample std over seeds",
        rows=rows))
    for r in rows:
        print(f"{r['method']:18s} SSIM {r['ssim']['mean']:.4f} +- {r['ssim']['std'] or 0:.4f}  PSNR "
              f"{r['psnr']['mean']:.2f} +- {r['psnr']['std'] or 0:.2f}"
              + (f"  latent std {r['latent_std_over_T']['mean']:.2f} T" if "latent_std_over_T" in r else ""))
    return 0

if __name__ == "__main__": sys.exit(main())
