#!/usr/bin/env python
"""The quality issue's levers on the toys first, against exact solutions: Fig. 1 (inversion) and Fig. 3 (iGCT guidance).

    python bench/recipe_toy.py [--seeds 0 1 2] [--steps 3000] [--fig3_steps 2000] [--targets single batch tangent]
                               [--out bench/results/recipe_toy.json]

Fig. 1: each (target, seed) trains both networks of `ctinv.toy_inversion.toy_models` (one torch thread) with their
single-sample targets ('single'), the batch's PF-ODE step ('batch', Stable Target Field) or the continuous-time limit
('tangent': `TangentCTLoss` for both, sCM's objective) or the discrete pairs on a fixed fine grid ('small_gap',
N = 2,560, the gap the tangent is the limit of) and records the Fig. 1 errors against the exact flow maps
(`toy_inversion_metrics`) and the CPU-seconds of the training. Runs already in --out with the same steps are kept, not
re-run. Fig. 3: each (config, seed) trains the iGCT pair of `ctinv.toy_guidance` with one `IGCTLoss` lever changed and
records the
class statistics of its 1-NFE samples at omega = 1 and 13 (`guidance_metrics`, 2,000 per class) beside the exact iGCT
field's (`REFERENCE['igct_exact']`: mean 2.61, std 0.43 at omega 13).
"""
import argparse, json, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = ('cm_flow_error', 'noiser_flow_error', 'latent_ks', 'roundtrip_error', 'basin_share', 'roundtrip_atom_share',
        'cpu_s')

def run(target:str, seed:int, steps:int)->dict:
    import torch
    from ctinv.toy_inversion import toy_models, train_toy, toy_inversion_metrics
    from ctinv.losses import TangentCTLoss
    torch.set_num_threads(1)
    ms = toy_models(seed)
    c0 = time.process_time()
    nets = {}
    for i, k in enumerate(('cm', 'noiser')):
        model, loss = ms[k]
        if target == 'tangent': loss = TangentCTLoss('eps' if k == 'cm' else 'T')
        elif target == 'small_gap': loss.n_levels = SMALL_GAP_N  # the discrete loss at the tangent's end: no curriculum
        else: loss.target = target
        nets[k] = train_toy(model, loss, steps=steps, seed=seed + i).ema_model.eval()
    cpu = time.process_time() - c0
    with torch.no_grad(): m = toy_inversion_metrics(nets['cm'], nets['noiser'], seed=0)
    return dict(target=target, seed=seed, steps=steps, cpu_s=cpu, **m)

TARGETS = ('single', 'batch', 'tangent', 'small_gap')
SMALL_GAP_N = 2560   # 'small_gap': a fixed grid of N levels for both networks (the curricula end at 160)
FIG3 = {'base': {}, 'tune': dict(schedule='tune'), 'gate_0.2_2': dict(t_low=.2, t_high=2.),
        'tune_gate_0.2_2': dict(schedule='tune', t_low=.2, t_high=2.), 'stf': dict(target='batch')}

def write(out:Path, res:dict):
    from ctinv.core import atomic_write_json
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, res)

def summarise(runs:list, key:str, keys)->dict:
    "`ctinv.evidence.seed_summary` of `keys` per value of `key` (std None for one seed)."
    from ctinv.evidence import seed_summary
    out = {}
    for v in dict.fromkeys(r[key] for r in runs):
        rs = [r for r in runs if r[key] == v]
        out[v] = {k: seed_summary([r[k] for r in rs], one_std=None) for k in keys}
    return out

def run_fig3(config:str, seed:int, steps:int)->dict:
    import torch
    from ctinv.losses import IGCTLoss
    from ctinv.toy_guidance import toy_guidance_models, fit_toy, sample_toy, guidance_metrics, W_RANGE
    torch.set_num_threads(1)
    c0 = time.process_time()
    pair = fit_toy(toy_guidance_models(seed)['igct'],
                   IGCTLoss(n_classes=2, w_min=W_RANGE[0], w_max=W_RANGE[1], p_mean=.5, **FIG3[config]),
                   steps, seed=seed + 2)
    cpu = time.process_time() - c0
    pair.denoiser.w_range = W_RANGE
    rows = {om: guidance_metrics(*sample_toy('igct', dict(igct=pair), om, 2000, seed)) for om in (1, 7, 13)}
    return dict(config=config, loss_kw=FIG3[config], seed=seed, steps=steps, cpu_s=cpu, omega=rows)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--steps', type=int, default=3000)
    p.add_argument('--fig3_steps', type=int, default=2000)
    p.add_argument('--targets', nargs='+', default=list(TARGETS), choices=list(TARGETS), help="Fig. 1 targets")
    p.add_argument('--parts', nargs='+', default=['fig1', 'fig3'], choices=['fig1', 'fig3'])
    p.add_argument('--fig3_configs', nargs='+', default=list(FIG3), choices=list(FIG3))
    p.add_argument('--fig3_seeds', type=int, nargs='+', default=None, help="default: --seeds")
    p.add_argument('--out', default=str(ROOT/'bench'/'results'/'recipe_toy.json'))
    a = p.parse_args()
    if a.steps < 100: p.error("--steps must be >= 100 (one toy epoch)")
    out = Path(a.out)
    if out.exists() and not out.is_file(): p.error(f"--out {out} is not a file")
    old = json.loads(out.read_text()) if out.is_file() else {}
    runs = [r for r in old.get('runs', []) if r['steps'] == a.steps]                          # finished runs are kept
    fig3 = [r for r in old.get('fig3', []) if r['steps'] == a.fig3_steps]
    res = lambda: dict(what=__doc__.splitlines()[0], steps=a.steps, fig3_steps=a.fig3_steps, seeds=a.seeds,
                       summary=summarise(runs, 'target', KEYS) if runs else {}, runs=runs, fig3=fig3)
    for target in a.targets if 'fig1' in a.parts else ():
        for s in a.seeds:
            if any(r['target'] == target and r['seed'] == s for r in runs): continue
            runs.append(run(target, s, a.steps)); write(out, res())
            print(json.dumps({k: runs[-1][k] for k in ('target', 'seed') + KEYS}), flush=True)
    for c in a.fig3_configs if 'fig3' in a.parts else ():
        for s in a.fig3_seeds or a.seeds:
            if any(r['config'] == c and r['seed'] == s for r in fig3): continue
            fig3.append(run_fig3(c, s, a.fig3_steps)); write(out, res())
            print(json.dumps({k: fig3[-1][k] for k in ('config', 'seed', 'cpu_s')}
                             | {'omega13': fig3[-1]['omega'][13]}), flush=True)

if __name__ == '__main__': main()
