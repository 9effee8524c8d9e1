#!/usr/bin/env python
"""CTM on the two 1-D toys of 12_ctm: the trajectory model's error against the exact PF-ODE jump \
and gamma-sampling's W1.

    python bench/ctm_toy.py [--steps-points 1000] [--steps-gaussians 1500] [--out bench/results]

Trains `train_ctm_toy` from scratch on the five points and on the two Gaussians (the settings of 12_ctm) and writes
OUT/ctm_toy.json: per toy the mean |G - G*| over random jumps t > s and over jumps to eps, its value per decade of t,
W1 to the data for 1 NFE and for gamma in {0, 0.3, 0.6, 1} at 4 NFE, the same for the exact G* (the sampling floor) and
for the moment-matched Gaussian (the bar a learned model must beat), and the training CPU seconds; and the figures
OUT/ctm_toy_jumps.png and OUT/ctm_toy_gamma.png. The goal of the issue is mean |G - G*| < 0.05.
"""
import argparse, os, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL = 0.05

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--steps-points', type=int, default=1000)
    p.add_argument('--steps-gaussians', type=int, default=1500)
    p.add_argument('--seed', type=int, default=0); p.add_argument('--out', default=str(ROOT/'bench'/'results'))
    a = p.parse_args()
    for k in ('steps_points', 'steps_gaussians'):
        if getattr(a, k) < 100 or getattr(a, k) % 100:
            p.error(f"--{k.replace('_', '-')} must be a positive multiple of 100, got {getattr(a, k)}")
    import torch
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', 1)))
    from ctinv.ctm import (TOYS, train_ctm_toy, ctm_toy_errors, gamma_w1, exact_ctm, moment_ctm, plot_ctm_jumps,
                           plot_gamma_densities)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    steps = {"points": a.steps_points, "gaussians": a.steps_gaussians}
    res = dict(goal_jump_error=GOAL, seed=a.seed, torch_threads=torch.get_num_threads(), toys={})
    models = {}
    for toy in TOYS:
        t0 = time.process_time()
        G = models[toy] = train_ctm_toy(toy, steps=steps[toy], seed=a.seed)
        cpu = time.process_time() - t0
        r = dict(steps=steps[toy], train_cpu_s=round(cpu, 1), **ctm_toy_errors(G, toy), w1=gamma_w1(G, toy),
                 exact_w1=gamma_w1(exact_ctm(toy), toy),
                 moment_matched=dict(ctm_toy_errors(moment_ctm(toy), toy), w1=gamma_w1(moment_ctm(toy), toy)))
        r["goal_met"] = r["jump_error"] < GOAL
        res["toys"][toy] = r
        print(f"{toy:9s} {steps[toy]} steps, {cpu:.0f} CPU s: mean |G - G*| {r['jump_error']:.4f} (goal < {GOAL}), "
              f"one-step {r['one_step_error']:.4f}; W1 " + ", ".join(f"{k} {v:.3f}" for k, v in r['w1'].items()),
              flush=True)
    from ctinv.core import atomic_write_json
    atomic_write_json(out/'ctm_toy.json', res)
    for name, fig in (("jumps", plot_ctm_jumps(models)), ("gamma", plot_gamma_densities(models))):
        fig.savefig(out/f'ctm_toy_{name}.png', dpi=70)
    return res

if __name__ == '__main__': main()
