#!/usr/bin/env python
"""Regenerate every table and figure the docs show, with a progress line per item and the total time.

    python bench/run_all.py                    # the full numbers into bench/results/ (hours on a 2-core CPU)
    python bench/run_all.py --quick            # every script on small settings into bench/results/quick/ (minutes)
    python bench/run_all.py --list [--quick]   # print the commands only
    python bench/run_all.py --only fig1 ctm    # some items
    python bench/run_all.py --quick --jobs 1   # one item at a time

Items: Table 1 of the CT Inversion report (bench/inversion.py: three networks and the BCM, then the four pipelines
and the BCM rows) and its spread over three training seeds (bench/inversion_seeds.py), guided generation
(bench/guidance.py, each seed with a second iGCT pair whose gate rises from t = 0.2 to 2; seeds 1 to 4 into
guidance_seeds/, 1 and 2 only with --quick; seeds 5 to 9, which take no part in choosing that gate, with CFG-EDM and the
gated pair only into guidance_confirm/, 5 only with --quick), the zero-shot applications on digits and CIFAR-10
(bench/applications.py), the main job's numbers over seeds (bench/default_job.py), the `mnist-cpu` pairs
(bench/mnist_cpu.py, full only: 0.8 to 2 CPU-hours each) and guided generation on MNIST (bench/guidance.py --data
mnist, full only: its iGCT pair and its baselines as two items that can run side by side, then the sweep), Fig. 1 of
CT Inversion and Fig. 3 of iGCT (`ctinv_toy`), the BCM toy (bench/bcm_toy.py), the CTM toys (bench/ctm_toy.py) and CTM
on digits next to CT and iGCT (bench/ctm_images.py), the quality issue's recipe ablation on the digits and on the toys
(bench/recipe.py, bench/recipe_toy.py), training throughput, steps per second against threads and busy processes
(bench/threads.py) and CLI start-up.
`--quick` is a check that every script runs end to end, not a source of numbers: its results go to their own folder so
they never replace the full ones.

Items start in this order, `--jobs` of them at a time (default: one for the full run, whose seconds per batch are
numbers the docs quote; with --quick one per core, at most 2, each item on one torch thread); an item waits for the
items it reads (Table 1's evaluation for its four networks), and the timing items (throughput, threads, CLI
start-up) run alone. A failing item is reported and the others still run (an item whose input failed is skipped);
the exit status is 1 when any failed. Each item's output goes to OUT/logs/ITEM.log; OUT/run_all.json records each
item's command, status, start and seconds.
"""
import argparse, os, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from ctinv.presets import available_cores   # a small module: imports nothing heavy
PY, BIN = sys.executable, Path(sys.executable).parent

def items(out:Path, quick:bool)->dict:
    "{name: command} for the results folder `out`; `quick`: small settings of the same scripts."
    b = lambda s: [PY, str(ROOT/"bench"/s)]
    q = lambda full, small: small if quick else full
    ck = str(out/"checkpoints"/"inversion") if quick else str(ROOT/"bench"/"checkpoints"/"inversion")
    inv_steps = q([], ["--steps", "80"])
    return {   # the longest chain (Table 1) first, the timing items last
        "table1_dm": b("inversion.py") + ["--train", "dm", "--ckpt-dir", ck] + inv_steps,
        "table1_cm": b("inversion.py") + ["--train", "cm", "--ckpt-dir", ck] + inv_steps,
        "table1_noiser": b("inversion.py") + ["--train", "noiser", "--ckpt-dir", ck] + inv_steps,
        "table1_bcm": b("inversion.py") + ["--train", "bcm", "--ckpt-dir", ck] + inv_steps,
        "table1": b("inversion.py") + ["--eval", "--ckpt-dir", ck, "--results", str(out)]
                  + q(["--n-eval", "10000"], ["--n-eval", "256", "--no-full", "--judge-epochs", "1",
                                              "--judge-images", "6000", "--n-samples", "500"]),
        "table1_seeds": b("inversion_seeds.py") + ["--out", str(out)]
                        + q([], ["--seeds", "0", "1", "--steps", "40", "--spe", "40", "--n-eval", "128",
                                 "--ckpt-dir", str(out/"checkpoints"/"inversion_seeds")]),
        "guidance": b("guidance.py") + ["--gate", "0.2", "2", "--out", str(out)]
                    + q([], ["--preset", "tiny", "--steps", "200", "--n_per_class", "20", "--n_edit", "20",
                             "--models", str(out/"guidance_models"/"seed0")]),
        **{f"guidance_seed{s}": b("guidance.py") + ["--seed", str(s), "--gate", "0.2", "2",
                                                    "--out", str(out/"guidance_seeds"/f"seed{s}")]
           + q([], ["--preset", "tiny", "--steps", "200", "--n_per_class", "20", "--n_edit", "20",
                    "--models", str(out/"guidance_models"/f"seed{s}")]) for s in ((1, 2) if quick else (1, 2, 3, 4))},
        # seeds 5 to 9 take no part in choosing the gate: only CFG-EDM and the gated pair (5 alone with --quick)
        **{f"guidance_confirm{s}": b("guidance.py") + ["--seed", str(s), "--gate", "0.2", "2", "--confirm",
                                                       "--out", str(out/"guidance_confirm"/f"seed{s}")]
           + q([], ["--preset", "tiny", "--steps", "200", "--n_per_class", "20",
                    "--models", str(out/"guidance_models"/f"seed{s}")]) for s in ((5,) if quick else range(5, 10))},
        "applications": b("applications.py") + ["--out", str(out)]
                        + q([], ["--quick", "--runs", str(out/"runs"/"applications")]),
        "default_job": b("default_job.py")
                       + ["--runs", str(out/"runs"/"default_job_tiny") if quick else str(ROOT/"runs"/"default_job"),
                          "--out", str(out/"default_job.json")] + q([], ["--seeds", "0", "--preset", "tiny"]),
        # run it alone: its CPU-seconds are the quiet cost
        **({} if quick else {"default_job_quiet": b("default_job.py")
                                                  + ["--seeds", "0", "--runs", str(ROOT/"runs"/"default_job_quiet"),
                                                     "--out", str(out/"default_job_quiet.json")]}),
        **({} if quick else {"mnist_cpu": b("mnist_cpu.py") + ["--methods", "ctinv", "igct", "igct-cycle",
                                                                "--results", str(out)],
                             "guidance_mnist_igct": b("guidance.py") + ["--data", "mnist", "--only", "igct"],
                             "guidance_mnist_baselines": b("guidance.py") + ["--data", "mnist", "--only", "baselines"],
                             "guidance_mnist": b("guidance.py") + ["--data", "mnist", "--out", str(out)]}),
        "recipe": b("recipe.py") + ["--runs", str(out/"recipe"), "--out", str(out/"recipe.json")]
                  + q(["--configs", "base", "cyc", "cyc_tan", "--seeds", "0", "1", "2"],
                      ["--configs", "base", "--seeds", "0", "--steps", "40", "--curve_every", "20"]),
        # the cycle at about the CPU-seconds of the authors' recipe: seeds 0, 1 and 2, as 10_images quotes it
        # (full only: the config fixes its own 1,200 steps)
        **({} if quick else {"recipe_1200": b("recipe.py")
                                            + ["--runs", str(out/"recipe"), "--out", str(out/"recipe.json"),
                                               "--configs", "cyc_1200", "--seeds", "0", "1", "2"]}),
        "recipe_levers": b("recipe.py") + ["--runs", str(out/"recipe"), "--out", str(out/"recipe.json")]
                         + q(["--configs", "tune", "stf", "rec", "cyc_sg", "cyc_prior", "cyc_prior10", "cyc_prior100",
                              "cyc03", "cyc_ch8", "--seeds", "0"],
                             ["--configs", "cyc", "--seeds", "0", "--steps", "40", "--curve_every", "20"]),
        "recipe_toy": b("recipe_toy.py") + ["--out", str(out/"recipe_toy.json")]
                      + q(["--seeds", "0", "1", "2", "--fig3_seeds", "0",
                           "--fig3_configs", "base", "tune", "gate_0.2_2", "tune_gate_0.2_2"],
                          ["--seeds", "0", "--steps", "200", "--fig3_steps", "200", "--fig3_configs", "base"]),
        "fig1": [str(BIN/"ctinv_toy"), "--figure", "1", "--out", str(out/"toy_inversion"), "--force"]
                + q([], ["--steps", "300"]),
        "fig3": [str(BIN/"ctinv_toy"), "--figure", "3", "--out", str(out/"toy_guidance"), "--force"]
                + q([], ["--steps", "300"]),
        "bcm_toy": b("bcm_toy.py") + ["--out", str(out)] + q([], ["--steps", "300"]),
        "ctm_images": b("ctm_images.py") + ["--out", str(out)]
                      + q([], ["--steps", "46", "--n-samples", "300", "--classifier-epochs", "1"]),
        "ctm": b("ctm_toy.py") + ["--out", str(out)] + q([], ["--steps-points", "100", "--steps-gaussians", "100"]),
        "throughput": b("throughput.py") + ["--out", str(out/"throughput.json")]
                      + q([], ["--steps", "2", "--presets", "digits"]),
        "cli_startup": b("cli_startup.py") + ["--out", str(out/"cli_startup.json")] + q([], ["--reps", "2"]),
        # steps per second against torch threads and busy processes (04a_presets quotes it): alone
        "threads": b("threads.py") + ["--out", str(out/"threads.json")]
                   + q(["--steps", "20", "--reps", "2"], ["--steps", "2", "--reps", "1"]),
    }

NEEDS = {"table1": ("table1_dm", "table1_cm", "table1_noiser", "table1_bcm"),   # item: the items whose output it reads
         "recipe_1200": ("recipe",),                                                # all three write recipe.json
         "recipe_levers": ("recipe", "recipe_1200"),
         "guidance_mnist": ("guidance_mnist_igct", "guidance_mnist_baselines")}
# timings: nothing else runs beside them
ALONE = ("throughput", "cli_startup", "threads")

def portable(cmd:list)->list:
    "A command as the log records it: paths inside the repository relative to it, this interpreter as `python`."
    out = []
    for c in cmd:
        if c == sys.executable: out.append("python")
        elif Path(c).parent == BIN: out.append(Path(c).name)      # a console script of this environment
        elif c.startswith(str(ROOT) + os.sep): out.append(os.path.relpath(c, ROOT))
        else: out.append(c)
    return out

def run_items(todo:dict, # {name: command}, in start order
              jobs:int, logs:Path, env:dict|None=None,
              needs:dict=NEEDS, alone=ALONE, say=print)->list:
    ("Run the commands, `jobs` at a time: an item starts once the items it needs (among `todo`) finished, "
     "`alone` items by themselves.")
    waiting, running, done, log, t_all = list(todo), {}, {}, [], time.time()
    logs.mkdir(parents=True, exist_ok=True)
    n = len(todo)
    def ready(k):
        deps = [d for d in needs.get(k, ()) if d in todo]
        if any(d not in done for d in deps): return False
        if k in alone: return not running
        return not any(r in alone for r in running)
    while waiting or running:
        for k in list(waiting):
            if len(running) >= jobs: break
            bad = [d for d in needs.get(k, ()) if d in done and not done[d]]
            if bad:        # its input failed: report, do not run
                waiting.remove(k); done[k] = False
                log.append(dict(item=k, command=portable(todo[k]), ok=False, returncode=None,
                                skipped=f"needs {', '.join(bad)}", start_s=None, wall_s=0.))
                say(f"[{len(log)}/{n}] {k}: SKIPPED (needs {', '.join(bad)}, which failed)"); continue
            if not ready(k):
                if k in alone or any(d in todo and d not in done for d in needs.get(k, ())): continue
                break
            waiting.remove(k)
            f = open(logs/f"{k}.log", "w")
            say(f"[start] {k}: {' '.join(todo[k])}")
            running[k] = (subprocess.Popen(todo[k], cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT, text=True),
                          f, time.time())
        time.sleep(0.2)
        for k, (proc, f, t0) in list(running.items()):
            if proc.poll() is None: continue
            f.close(); del running[k]
            dt, ok = time.time() - t0, proc.returncode == 0
            done[k] = ok
            log.append(dict(item=k, command=portable(todo[k]), ok=ok, returncode=proc.returncode,
                            start_s=round(t0 - t_all, 1), wall_s=round(dt, 1)))
            tail = (logs/f"{k}.log").read_text(errors="replace").strip().splitlines()[-3:]
            say(f"[{len(log)}/{n}] {k}: {'ok' if ok else f'FAILED (exit {proc.returncode})'} in {dt:.0f} s"
                + ("".join(f"\n      {l}" for l in tail) if not ok else ""))
    return log

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small settings, into bench/results/quick unless --out")
    p.add_argument("--out", default=None,
                   help="results folder (default: bench/results, or bench/results/quick with --quick)")
    p.add_argument("--only", nargs="+", default=None, metavar="ITEM", help="run only these items")
    p.add_argument("--list", action="store_true", help="print the commands and exit")
    p.add_argument("--jobs", type=int, default=None,
                   help="items at a time (default: 1; with --quick the cores, at most 2)")
    a = p.parse_args(argv)
    if a.jobs is not None and a.jobs < 1: p.error(f"--jobs must be at least 1, got {a.jobs}")
    jobs = a.jobs or (min(2, available_cores()) if a.quick else 1)
    out = Path(a.out) if a.out else ROOT/"bench"/"results"/("quick" if a.quick else "")
    if out.exists() and not out.is_dir(): p.error(f"--out {out} is a file, not a folder: give a results folder")
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
    if jobs > 1: env["OMP_NUM_THREADS"] = "1"       # items side by side: one thread each (see 04a_presets on threads)
    print(f"{len(todo)} items, {jobs} at a time; logs in {out/'logs'}", flush=True)
    t_all = time.time()
    log = run_items(todo, jobs, out/"logs", env, say=lambda l: print(l, flush=True))
    total = time.time() - t_all
    from ctinv.core import atomic_write_json
    atomic_write_json(out/"run_all.json", dict(quick=a.quick, jobs=jobs, cpu=os.cpu_count(),
                                               total_wall_s=round(total, 1), items=log))
    failed = [e["item"] for e in log if not e["ok"]]
    print(f"total {total:.0f} s; {len(log) - len(failed)} of {len(log)} items ok"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0

if __name__ == "__main__": sys.exit(main())
