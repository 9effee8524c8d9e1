#!/usr/bin/env python
"""Training steps per second of the main job against the number of torch threads and of other busy processes.

    python bench/threads.py [--steps 60] [--reps 2] [--out bench/results/threads.json]

For the default job (`digits` preset: 1,527 digits) and `--preset tiny --n_train 256`, with 1 and 2 torch threads, and
with 0, 1 and 2 other processes each keeping one core busy (a Python busy loop), one fresh process trains `steps`
optimiser steps with `train_pair` after 5 warm-up steps and reports steps per second. The configurations are run in an
interleaved order, `reps` times each, so that a slow drift of the machine spreads over all of them. The summary gives,
per preset and thread count, the slowdown caused by 1 and by 2 busy processes (steps/s alone over steps/s busy), and
which thread count `auto_threads` picks. Run it on an otherwise quiet machine: its own busy processes are the load.
"""
import argparse, json, os, platform, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {'digits': dict(preset='digits', n_train=None), 'tiny': dict(preset='tiny', n_train=256)}

def worker(preset:str, n_train, threads:int, steps:int)->dict:
    "In this process: train `steps` steps (after 5 warm-up steps) and time them."
    import torch
    torch.set_num_threads(threads)
    from fastai.callback.core import Callback
    from ctinv.data import get_dls
    from ctinv.train import train_pair
    times = []
    class Clock(Callback):
        order = 14   # before ConsistencyCB (15): the step's time includes its stop-gradient target pass
        def before_batch(self): self.t = time.perf_counter()
        def after_batch(self):
            if self.training: times.append(time.perf_counter() - self.t)
    dls = get_dls('digits', bs=64, seed=0, n_train=n_train, device='cpu')
    train_pair(dls, 'igct', preset, steps=steps + 5, cbs=[Clock()])
    t = sum(times[5:steps + 5])
    return dict(steps_per_s=steps/t, s_per_step=t/steps, torch_threads=torch.get_num_threads())

def busy_loop(): 
    while True: pass

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--steps', type=int, default=60); p.add_argument('--reps', type=int, default=2)
    p.add_argument('--out', default=str(ROOT/'bench'/'results'/'threads.json'))
    p.add_argument('--worker', nargs=4, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        preset, n_train, threads, steps = a.worker
        print(json.dumps(worker(preset, None if n_train == 'None' else int(n_train), int(threads), int(steps)))); return
    configs = [(case, th, busy) for case in CASES for th in (1, 2) for busy in (0, 1, 2)]
    rows = []
    for rep in range(a.reps):
        for case, th, busy in (configs if rep % 2 == 0 else configs[::-1]):
            hogs = [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(busy)]
            try:
                c = CASES[case]
                env = {**os.environ, 'OMP_NUM_THREADS': str(th)}
                r = subprocess.run([sys.executable, __file__, '--worker', c['preset'], str(c['n_train']), str(th),
                                    str(a.steps)],
                                   capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
                if r.returncode: raise RuntimeError(r.stderr[-2000:])
                res = json.loads(r.stdout.strip().splitlines()[-1])
            finally:
                for h in hogs: h.kill(); h.wait()
            rows.append(dict(case=case, threads=th, busy=busy, rep=rep, **res))
            print(f"{case:6s} threads {th} busy {busy} rep {rep}: {res['steps_per_s']:.2f} steps/s", flush=True)
    import statistics as st
    from ctinv.presets import auto_threads, available_cores
    summary = {}
    for case in CASES:
        for th in (1, 2):
            sps = {b: st.median(r['steps_per_s']
                                for r in rows if (r['case'], r['threads'], r['busy']) == (case, th, b))
                   for b in (0, 1, 2)}
            summary[f"{case}/threads={th}"] = dict(steps_per_s=sps, slowdown_1_busy=sps[0]/sps[1],
                                                   slowdown_2_busy=sps[0]/sps[2])
    res = dict(machine=dict(cores=os.cpu_count(), available_cores=available_cores(), platform=platform.platform(),
                            python=platform.python_version()),
               steps=a.steps, reps=a.reps, auto_threads={c: auto_threads(CASES[c]['preset']) for c in CASES},
               summary=summary, rows=rows)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    from ctinv.core import atomic_write_json
    atomic_write_json(Path(a.out), res, indent=2)
    for k, v in summary.items():
        print(f"{k}: alone {v['steps_per_s'][0]:.2f} steps/s; slowdown with 1 busy {v['slowdown_1_busy']:.2f}x, "
              f"with 2 busy {v['slowdown_2_busy']:.2f}x")

if __name__ == '__main__': main()
