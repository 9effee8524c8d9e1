#!/usr/bin/env python
"""The two MNIST configurations of the one-step inversion issue at the `mnist-cpu` preset: quality against compute.

    ctinv      the CT Inversion report's configuration: noiser by CT Inversion and denoiser by CT, trained apart
               (neither loss sees the other network)
    igct       iGCT's one-stage pair: noiser + guided denoiser + reconstruction term
    igct-cycle the default job's recipe on MNIST: iGCT with the noise-side cycle (the `mnist-cpu-cycle` preset)

Each is one `ctinv_train` run on the 60k MNIST training images (class-conditional, evaluated on all 10,000 test
images), with a `QualityCurve` point every `--curve-every` steps. This script runs them (or reuses finished run
folders) and collects `bench/results/mnist_cpu.json` and `mnist_cpu_curves.png`:

    python bench/mnist_cpu.py                       # trains both in runs/mnist_cpu/{ctinv,igct}, one after the other
    python bench/mnist_cpu.py --collect             # only collect finished runs
    python bench/mnist_cpu.py --methods igct --steps 200 --out /tmp/x    # a short check
    python bench/mnist_cpu.py --methods igct-cycle                       # the cycle recipe (about 2 CPU-hours)
"""
from __future__ import annotations
import argparse, json, os, platform, shutil, subprocess, sys, time
from collections import namedtuple
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT/"bench"/"results"
sys.path.insert(0, str(ROOT))
from ctinv.evidence import paper_row   # a small module: imports nothing heavy
# the CT Inversion report's Table 1 on MNIST (CT_Inv + CT, 100k iterations, about 40 A5000 GPU-hours)
REPORT = {k: paper_row('ct_inversion_table1', data='MNIST')[k] for k in ('lpips', 'ssim', 'psnr')}
KEEP = ("recon_ssim", "recon_ssim_torchmetrics", "recon_psnr", "recon_ssim_igct", "recon_psnr_igct", "lpips",
        "lpips_reason", "latent_std", "latent_ks", "latent_ks_crit", "latent_lowfreq_ratio", "sample_accuracy",
        "edit_accuracy", "edit_ssim", "classifier_accuracy", "n_eval",
        "nfe_encode", "nfe_decode", "recon_s_per_128", "steps", "cpu_s", "wall_s", "train_wall_s", "torch_threads",
        "config", "curve")

# run name: (ctinv_train --method, --preset, --steps of the results file: None for the preset's, what it trains)
Run = namedtuple("Run", "method preset steps description")   # steps None: the preset's own
RUNS = {"ctinv": Run("ctinv", "mnist-cpu", None,
                     "CT Inversion, trained apart: CM by iCT (CTLoss s1=160) + noiser by CT Inversion (s1=160)"),
        "igct": Run("igct", "mnist-cpu", 1874, "iGCT one stage: noiser + guided denoiser + reconstruction term"),
        "igct-cycle": Run("igct", "mnist-cpu-cycle", None, "iGCT one stage with the noise-side cycle (weight 1.5)")}

def train(name:str, out:Path, steps:int|None, curve_every:int, threads:int):
    "One `ctinv_train` run (resumed when its folder holds a checkpoint but no metrics.json)."
    method, preset = RUNS[name].method, RUNS[name].preset
    steps = steps or RUNS[name].steps
    args = ["ctinv_train", "--data", "mnist", "--preset", preset, "--method", method, "--out", str(out),
            "--curve_every", str(curve_every), "--threads", str(threads)] + (["--steps", str(steps)] if steps else [])
    if (out/"metrics.json").exists(): print(f"[{name}] {out} is finished: kept", flush=True); return
    if (out/"ckpt"/"checkpoint.json").exists(): args += ["--resume"]
    print(f"[{name}] {' '.join(args)}", flush=True)
    subprocess.run([str(Path(sys.executable).parent/args[0])] + args[1:], check=True, stdout=subprocess.DEVNULL)

def collect(runs:dict)->dict:
    "The numbers of finished runs, next to the report's."
    res = dict(report_ct_inv_ct=REPORT, device=f"CPU ({platform.machine()}), 2 cores", runs={})
    for method, out in runs.items():
        f = out/"metrics.json"
        if not f.exists():
            if (out/"curve.json").exists():      # trained (or training) but not evaluated: its curve only
                res["runs"][method] = dict(evaluated=False, curve=json.loads((out/"curve.json").read_text()))
                print(f"[{method}] no metrics.json in {out}: its curve only", flush=True)
            else: print(f"[{method}] nothing in {out}: not collected", flush=True)
            continue
        m = json.loads(f.read_text())
        r = {k: m.get(k) for k in KEEP}
        r["cpu_hours"] = m["cpu_s"]/3600
        r["train_images_per_s"] = m["steps"]*m["config"]["bs"]/m["train_wall_s"]
        r["evaluated"] = True
        res["runs"][method] = r
    return res

def experiment_rows(res:dict, fname:Path=RESULTS/"inversion_experiments.json"):
    "Add (or replace) one row per run in the experiments table of 09_inversion."
    rows = json.loads(fname.read_text()) if fname.exists() else []
    for method, r in res["runs"].items():
        c = r["config"]
        row = dict(id=f"mnist-cpu-{method}", when="bench/mnist_cpu.py",
                   configuration=RUNS[method].description + ", class-conditional",
                   method=RUNS[method].method, net="unet_preset('mnist-cpu') (332k params)", steps=r["steps"],
                   bs=c["bs"],
                   lr=c["lr"], ema_half_life_img=10_000, row="CT_Inv+CM", n_images=r["n_eval"], ssim=r["recon_ssim"],
                   ssim_torchmetrics=r["recon_ssim_torchmetrics"], psnr=r["recon_psnr"],
                   latent_std_over_T=r["latent_std"], latent_ks=r["latent_ks"], sample_accuracy=r["sample_accuracy"],
                   train_images_per_s=round(r["train_images_per_s"], 1), cpu_hours=round(r["cpu_hours"], 3),
                   notes=f"ctinv_train --data mnist --preset {RUNS[method].preset} --method {RUNS[method].method}; "
                         f"all 10,000 test images; "
                         f"{r['torch_threads']} thread(s)")
        rows = [e for e in rows if e["id"] != row["id"]] + [row]
    from ctinv.core import atomic_write_json
    atomic_write_json(fname, rows)

def plot(res:dict, fname:Path):
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(1, 4, figsize=(16, 3.4))
    for method, r in res["runs"].items():
        c = r.get("curve") or []
        h = [p["cpu_s"]/3600 for p in c]
        for ax, k in zip(axs, ("ssim", "psnr", "latent_std", "latent_ks")):
            ax.plot(h, [p[k] for p in c], "o-", ms=3, label=method)
    for ax, k, goal in zip(axs, ("SSIM", "PSNR (dB)", "latent std / T", "latent KS"),
                           (REPORT["ssim"], REPORT["psnr"], 1., .05)):
        ax.axhline(goal, color="k", ls="--", lw=1); ax.set_xlabel("CPU-hours (process time, all threads)")
        ax.set_title(k)
    axs[0].legend()
    fig.suptitle("mnist-cpu: 256 fixed test images along training (dashed: the report's number or the goal)")
    fig.tight_layout(); fig.savefig(fname, dpi=70); plt.close(fig)

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", nargs="+", default=["ctinv", "igct"], choices=list(RUNS))
    p.add_argument("--out", default=str(ROOT/"runs"/"mnist_cpu"), help="folder of the run folders (one per method)")
    p.add_argument("--steps", type=int, default=None, help="optimiser steps; default: those of RUNS")
    p.add_argument("--curve-every", type=int, default=250)
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    p.add_argument("--collect", action="store_true", help="only collect finished runs")
    p.add_argument("--results", default=str(RESULTS))
    a = p.parse_args()
    runs = {m: Path(a.out)/m for m in a.methods}
    t0 = time.time()
    if not a.collect:
        for m, out in runs.items(): train(m, out, a.steps, a.curve_every, a.threads)
    res = collect(runs)
    out = Path(a.results); out.mkdir(parents=True, exist_ok=True)
    if (out/"mnist_cpu.json").exists():     # the runs not collected this time stay as the file has them
        res["runs"] = {**json.loads((out/"mnist_cpu.json").read_text())["runs"], **res["runs"]}
    from ctinv.core import atomic_write_json
    atomic_write_json(out/"mnist_cpu.json", res)
    plot(res, out/"mnist_cpu_curves.png")
    if out == RESULTS: experiment_rows({**res, "runs": {m: r for m, r in res["runs"].items() if r["evaluated"]}})
    for m, run in runs.items():           # the run folders' pictures, for the notebook (runs/ is not tracked)
        for f in ("recon.png", "samples.png", "edit.png"):
            if (run/f).exists(): shutil.copyfile(run/f, out/f"mnist_cpu_{m}_{f}")
    for m, r in res["runs"].items():
        if not r["evaluated"]: continue
        print(f"{m}: SSIM {r['recon_ssim']:.4f} (torchmetrics {r['recon_ssim_torchmetrics']:.4f}), "
              f"PSNR {r['recon_psnr']:.2f}, "
              f"latent std {r['latent_std']:.3f} T, KS {r['latent_ks']:.3f}, samples {r['sample_accuracy']:.3f}, "
              f"{r['cpu_hours']:.2f} CPU-h, {r['train_images_per_s']:.0f} img/s")
    print(f"total {time.time() - t0:.0f} s")
