#!/usr/bin/env python
"""The headline numbers of the main job: `ctinv_train` with its defaults, over several seeds, as mean and spread.

    python bench/default_job.py [--seeds 0 1 2] [--runs runs/default_job] [--out bench/results/default_job.json] \
[--preset tiny]

Each seed is one run of `ctinv_train --seed S --out RUNS/sS` (a run folder that already holds a finished run is read,
not trained again); `--preset` passes a training preset (`bench/run_all.py --quick` uses `tiny`). The JSON holds every \
run's metrics and, per number, the mean, the sample standard deviation and the
range over the seeds; README / index and 10_images quote these.
"""
import argparse, json, subprocess, sys
from pathlib import Path

ROOT, BIN = Path(__file__).resolve().parents[1], Path(sys.executable).parent
KEYS = ('recon_psnr', 'recon_ssim', 'recon_ssim_torchmetrics', 'recon_psnr_igct', 'recon_ssim_igct', 'edit_accuracy',
        'edit_ssim', 'sample_accuracy', 'classifier_accuracy', 'latent_std', 'latent_ks', 'latent_lowfreq_ratio',
        'psnr_mean_image', 'psnr_random_latent', 'cpu_s', 'wall_s')

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--runs', default=str(ROOT/'runs'/'default_job'))
    p.add_argument('--out', default=str(ROOT/'bench'/'results'/'default_job.json'))
    p.add_argument('--preset', default=None, help="ctinv_train's --preset (default: the job's own)")
    a = p.parse_args()
    sys.path.insert(0, str(ROOT))
    from ctinv.presets import default_preset
    from ctinv.evidence import seed_summary
    want = a.preset or default_preset('digits')              # a finished run of another preset is trained again
    runs = {}
    for s in a.seeds:
        d = Path(a.runs)/f's{s}'
        done = ((d/'metrics.json').exists()
                and json.loads((d/'metrics.json').read_text())['config'].get('preset') == want)
        if not done:
            r = subprocess.run([str(BIN/'ctinv_train'), '--seed', str(s), '--out', str(d)]
                               + (['--force'] if d.exists() and any(d.iterdir()) else [])
                               + (['--preset', a.preset] if a.preset else []), cwd=ROOT)
            if r.returncode: sys.exit(f"ctinv_train --seed {s} failed ({r.returncode})")
        runs[s] = json.loads((d/'metrics.json').read_text())
    summary = {}
    for k in KEYS:
        v = [runs[s][k] for s in a.seeds if runs[s].get(k) is not None]
        if v: summary[k] = seed_summary(v)
    cfg = runs[a.seeds[0]]['config']
    res = dict(command='ctinv_train --seed S' + (f' --preset {a.preset}' if a.preset else ''),
               config={k: cfg[k] for k in ('data', 'preset', 'method', 'bs', 'lr', 'epochs')}, seeds=a.seeds,
               torch_threads=sorted({runs[s]['torch_threads'] for s in a.seeds}), summary=summary,
               runs={str(s): {k: runs[s].get(k) for k in KEYS + ('steps', 'torch_threads')} for s in a.seeds})
    from ctinv.core import atomic_write_json
    Path(a.out).parent.mkdir(parents=True, exist_ok=True); atomic_write_json(Path(a.out), res, indent=2)
    for k, v in summary.items(): print(f"{k:26s} {v['mean']:.4g} ± {v['std']:.2g}  [{v['min']:.4g}, {v['max']:.4g}]")

if __name__ == '__main__': main()
