#!/usr/bin/env python
"""Regenerate every table and figure the docs show, one item after the other, with a progress line per item.

    python bench/run_all.py                    # the full numbers into bench/results/ (hours on a 2-core CPU)
    python bench/run_all.py --quick            # every script on small settings into bench/results/quick/ (minutes)
    python bench/run_all.py --list [--quick]   # print the commands only
    python bench/run_all.py --only fig1 ctm    # some items

Items: Fig. 1 of CT Inversion and Fig. 3 of iGCT (`ctinv_toy`), Table 1 of the CT Inversion report (bench/inversion.py:
three networks and the BCM, then the four pipelines and the BCM rows), the BCM toy (bench/bcm_toy.py), the CTM toys (bench/ctm_toy.py), guided generation (bench/guidance.py), the
zero-shot applications (bench/applications.py), the main job's numbers over seeds (bench/default_job.py), the
`mnist-cpu` pair (bench/mnist_cpu.py, full only: about 1.3 CPU-hours per configuration), training throughput and CLI
start-up. `--quick` is a check that every script runs end to end, not a source of numbers: its results go to their
own folder so they never replace the full ones. Items run in this order; a failing item is reported and the others
still run; the exit status is 1 when any failed. OUT/run_all.json records each item's command, status and seconds.
"""
import argparse, json, os, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY, BIN = sys.executable, Path(sys.executable).parent

def items(out:Path, quick:bool)->dict:
    "{name: command} for the results folder `out`; `quick`: small settings of the same scripts."
    b = lambda s: [PY, str(ROOT/"bench"/s)]
    q = lambda full, small: small if quick else full
    ck = str(out/"checkpoints"/"inversion") if quick else str(ROOT/"bench"/"checkpoints"/"inversion")
    inv_steps = q([], ["--steps", "80"])
    return {
        "fig1": [str(BIN/"ctinv_toy"), "--figure", "1", "--out", str(out/"toy_inversion"), "--force"] + q([], ["--steps", "300"]),
        "fig3": [str(BIN/"ctinv_toy"), "--figure", "3", "--out", str(out/"toy_guidance"), "--force"] + q([], ["--steps", "300"]),
        "table1_dm": b("inversion.py") + ["--train", "dm", "--ckpt-dir", ck] + inv_steps,
        "table1_cm": b("inversion.py") + ["--train", "cm", "--ckpt-dir", ck] + inv_steps,
        "table1_noiser": b("inversion.py") + ["--train", "noiser", "--ckpt-dir", ck] + inv_steps,
        "table1_bcm": b("inversion.py") + ["--train", "bcm", "--ckpt-dir", ck] + inv_steps,
        "table1": b("inversion.py") + ["--eval", "--ckpt-dir", ck, "--results", str(out)] + q(["--n-eval", "10000"], ["--n-eval", "256", "--no-full",
                                                                                         "--judge-epochs", "1", "--judge-images", "6000", "--n-samples", "500"]),
        "bcm_toy": b("bcm_toy.py") + ["--out", str(out)] + q([], ["--steps", "300"]),
        "ctm": b("ctm_toy.py") + ["--out", str(out)] + q([], ["--steps-points", "300", "--steps-gaussians", "300"]),
        "guidance": b("guidance.py") + ["--out", str(out)] + q([], ["--preset", "tiny", "--steps", "200", "--n_per_class", "20", "--n_edit", "20"]),
        "applications": b("applications.py") + ["--out", str(out)] + q([], ["--quick"]),
        "default_job": b("default_job.py") + ["--runs", str(out/"runs"/"default_job_tiny") if quick else str(ROOT/"runs"/"default_job"),
                                              "--out", str(out/"default_job.json")] + q([], ["--seeds", "0", "--preset", "tiny"]),
        **({} if quick else {"mnist_cpu": b("mnist_cpu.py") + ["--results", str(out)]}),
        "throughput": b("throughput.py") + ["--out", str(out/"throughput.json")] + q([], ["--steps", "2", "--presets", "digits"]),
        "cli_startup": b("cli_startup.py") + ["--out", str(out/"cli_startup.json")] + q([], ["--reps", "2"]),
    }

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small settings, into bench/results/quick unless --out")
    p.add_argument("--out", default=None, help="results folder (default: bench/results, or bench/results/quick with --quick)")
    p.add_argument("--only", nargs="+", default=None, metavar="ITEM", help="run only these items")
    p.add_argument("--list", action="store_true", help="print the commands and exit")
    a = p.parse_args(argv)
    out = Path(a.out) if a.out else ROOT/"bench"/"results"/("quick" if a.quick else "")
    todo = items(out, a.quick)
    if a.only:
        bad = [k for k in a.only if k not in todo]
        if bad: p.error(f"unknown item(s) {', '.join(bad)}; expected some of: {', '.join(todo)}")
        todo = {k: v for k, v in todo.items() if k in a.only}
    if a.list:
        for k, cmd in todo.items(): print(f"{k}: {' '.join(cmd)}")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t_all, log = time.time(), []
    for i, (k, cmd) in enumerate(todo.items(), 1):
        print(f"[{i}/{len(todo)}] {k}: {' '.join(cmd)}", flush=True)
        t0 = time.time()
        r = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        dt = time.time() - t0
        log.append(dict(item=k, command=cmd, ok=r.returncode == 0, returncode=r.returncode, wall_s=round(dt, 1)))
        tail = r.stdout.strip().splitlines()[-3:]
        print(f"[{i}/{len(todo)}] {k}: {'ok' if r.returncode == 0 else f'FAILED (exit {r.returncode})'} in {dt:.0f} s"
              + ("".join(f"\n      {l}" for l in tail) if r.returncode else ""), flush=True)
    total = time.time() - t_all
    (out/"run_all.json").write_text(json.dumps(dict(quick=a.quick, total_wall_s=round(total, 1), items=log), indent=1))
    failed = [e["item"] for e in log if not e["ok"]]
    print(f"total {total:.0f} s; {len(log) - len(failed)} of {len(log)} items ok" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0

if __name__ == "__main__": sys.exit(main())
