#!/usr/bin/env python
"""Seconds from launch to exit of the commands' `--help` and of a refused argument \
(the parse-first, import-after check).

    python bench/cli_startup.py [--reps 5] [--out bench/results/cli_startup.json]
"""
import argparse, os, statistics, subprocess, sys, time
from pathlib import Path

ROOT, BIN = Path(__file__).resolve().parents[1], Path(sys.executable).parent
CASES = {'ctinv_train --help': ['ctinv_train', '--help'], 'ctinv_train --bs 0': ['ctinv_train', '--bs', '0'],
         'ctinv_train --lr nan': ['ctinv_train', '--lr', 'nan'], 'ctinv_toy --help': ['ctinv_toy', '--help'],
         'ctinv_toy --steps 5': ['ctinv_toy', '--steps', '5'], 'ctinv_pfode --help': ['ctinv_pfode', '--help'],
         'ctinv_pfode --n 0': ['ctinv_pfode', '--n', '0']}

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--reps', type=int, default=5)
    p.add_argument('--out', default=str(ROOT/'bench'/'results'/'cli_startup.json'))
    a = p.parse_args()
    res = {}
    for name, cmd in CASES.items():
        ts, rc = [], None
        for _ in range(a.reps):
            t0 = time.perf_counter()
            rc = subprocess.run([str(BIN/cmd[0]), *cmd[1:]], capture_output=True, cwd=ROOT).returncode
            ts.append(time.perf_counter() - t0)
        res[name] = dict(median_s=statistics.median(ts), max_s=max(ts), exit_status=rc)
        print(f"{name:24s} median {res[name]['median_s']:.2f} s, max {res[name]['max_s']:.2f} s, exit {rc}")
    load = os.getloadavg()
    from ctinv.core import atomic_write_json
    atomic_write_json(Path(a.out), dict(reps=a.reps, load_average=load, results=res), indent=2)

if __name__ == '__main__': main()
