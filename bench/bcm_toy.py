#!/usr/bin/env python
"""The BCM on the five points of Fig. 1 (ctinv.bcm, 13_bcm): one network both ways against the CM + noiser pair.

    python bench/bcm_toy.py [--steps 3000] [--seed 0] [--out bench/results]

Writes OUT/bcm_toy.json: for the BCM with u drawn uniformly and with the authors' lognormal law, and for the Fig. 1 pair
trained for the same steps, the flow errors against the exact maps, latent KS, round trips, reconstruction against NFE
(1-8 jumps up, 1-4 down) and CPU seconds.
"""
import argparse, json, os, sys, time
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import torch
from ctinv.bcm import bcm_toy_comparison
from ctinv.core import atomic_write_text

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=3000, help="steps of each network (a multiple of 100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT/"bench"/"results"))
    a = p.parse_args()
    if a.steps < 100 or a.steps % 100: p.error(f"--steps must be a positive multiple of 100, got {a.steps}")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    t0 = time.time()
    res = bcm_toy_comparison(a.steps, a.seed)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out/"bcm_toy.json",
                      json.dumps(dict(steps=a.steps, seed=a.seed, threads=torch.get_num_threads(),
                                      wall_s=time.time() - t0, **res), indent=1))
    for k, v in res.items(): print(k, f"cpu {v['cpu_s']:.0f}s", {m: round(x, 4) for m, x in v["metrics"].items()})
