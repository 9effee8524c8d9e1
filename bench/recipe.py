#!/usr/bin/env python
"""The recipe ablation of the quality issue: the digits pair (`ctinv_train`'s default job) \
with one lever changed at a time.

    python bench/recipe.py --configs base tune stf cyc ... --seeds 0 1 2 [--steps 1800] [--runs bench/results/recipe]
    python bench/recipe.py --summary            # only gather the per-run files into bench/results/recipe.json

Each (config, seed) trains the iGCT pair on the 8x8 digits with the `digits` preset (the README job) and the config's
loss / EMA / network settings, one torch thread, and writes `RUNS/<config>_s<seed>.json`: the evaluation of
`ctinv.images.evaluate_pair` (all 270 held-out digits; the judge trained as `ctinv_train` trains it), the CPU-seconds
of the training alone (`time.process_time` of this process), images seen, and a quality curve every `--curve_every`
steps. A finished run file is read, not trained again. At the end (or alone with `--summary`) every run file in RUNS
is gathered into one JSON with mean, sample standard deviation and n per config and number; the notebook 10_images
reads it.
"""
import argparse, json, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = ('recon_psnr', 'recon_ssim', 'recon_ssim_igct', 'recon_psnr_igct', 'edit_accuracy', 'sample_accuracy',
        'latent_std', 'latent_ks', 'cpu_s', 'images')
CONFIGS = {   # name: (description, loss keywords, train_pair keywords)
    'base': ("iGCT with the authors' schedule (gap halves every ninth of the run), the library's defaults", {}, {}),
    'tune': ("denoising for 30% of the run, then one small gap r = t(1 - n(t)/256) (ECT's short recipe)",
             dict(schedule='tune'), {}),
    'tune64': ("as tune with q = 64", dict(schedule='tune', q_tune=64.), {}),
    'stf': ("targets from the batch's posterior mean (Stable Target Field), same class", dict(target='batch'), {}),
    'cyc': ("noise-side cycle d(g(sg f(z)), z), weight 1.5 (iCD's forward-preserve)", dict(lam_cyc=1.5), {}),
    'cyc_sg': ("the cycle, and no reconstruction gradient into the noiser", dict(lam_cyc=1.5, rec_grad='denoiser'), {}),
    'rec': ("reconstruction on every step with weight 0.1 (5,000x the authors')", dict(recon_every=1, lam_rec=0.1), {}),
    'cyc01': ("noise-side cycle, weight 0.1", dict(lam_cyc=0.1), {}),
    'cyc_1200': ("the cycle (weight 1.5) in 1,200 steps: about the CPU-seconds of 1,800 steps without it",
                 dict(lam_cyc=1.5), dict(steps=1200)),
    'tune_stf': ("tune + stf", dict(schedule='tune', target='batch'), {}),
    'tune_stf_cyc': ("tune + stf + cycle", dict(schedule='tune', target='batch', lam_cyc=1.5), {}),
    'cyc_prior': ("the cycle, and the latent moment term (weight 1) on the noiser's predictions",
                  dict(lam_cyc=1.5, lam_prior=1.), {}),
    'cyc_prior10': ("the cycle, and the latent moment term with weight 10", dict(lam_cyc=1.5, lam_prior=10.), {}),
    'cyc_prior100': ("the cycle, and the latent moment term with weight 100", dict(lam_cyc=1.5, lam_prior=100.), {}),
    'cyc03': ("noise-side cycle, weight 0.3 (a fifth of iCD's)", dict(lam_cyc=.3), {}),
    'cyc_ch8': ("the cycle on a UNet of half the width (8 base channels, about a quarter of the weights)",
                dict(lam_cyc=1.5), dict(net_kw=dict(model_channels=8))),
    'tan': ("the noiser trained in the continuous-time limit (sCM's tangent, normalised, warm-up 600 steps)",
            dict(noiser_loss='tangent', warmup_steps=600), {}),
    'cyc_tan': ("the cycle, and the noiser trained in the continuous-time limit",
                dict(lam_cyc=1.5, noiser_loss='tangent', warmup_steps=600), {}),
    'cyc_ch32': ("the cycle on a UNet of twice the width (32 base channels)", dict(lam_cyc=1.5),
                 dict(net_kw=dict(model_channels=32))),
}

def run_one(config:str, seed:int, steps:int, curve_every:int)->dict:
    import torch
    torch.set_num_threads(1)
    from ctinv.data import get_dls
    from ctinv.train import train_pair
    from ctinv.images import evaluate_pair, held_out, QualityCurve
    from ctinv.metrics import train_classifier
    desc, loss_kw, train_kw = CONFIGS[config]
    dls = get_dls('digits', bs=64, seed=seed, device='cpu')
    curve = QualityCurve(*held_out(dls, 256, seed), curve_every, None, seed)
    c0, t0 = time.process_time(), time.time()
    kw = {'steps': steps, **train_kw}                        # a config may fix its own length
    learn = train_pair(dls, 'igct', 'digits', seed=seed, loss_kw=loss_kw, cbs=[curve], **kw)
    cpu = time.process_time() - c0                       # training, with the curve's few evaluations
    wall = time.time() - t0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clf = train_classifier(dls, epochs=5)
    m = evaluate_pair(learn.ema_model.eval(), dls, clf, None, 500, None, seed)
    return dict(config=config, description=desc, loss_kw=loss_kw, train_kw=train_kw, seed=seed,
                steps=int(learn.train_iter), images=int(learn.train_iter)*64, cpu_s=cpu, wall_s=wall, torch_threads=1,
                curve=curve.history, **m)

def paired(runs:list, base:str='base')->dict:
    ("Per config and number: the seed-paired difference to `base` (`ctinv.evidence.paired_test`: mean, sd, n, "
     "two-sided p), n >= 2.")
    from ctinv.evidence import paired_test
    by = {(r['config'], r['seed']): r for r in runs}
    res = {}
    for name in dict.fromkeys(r['config'] for r in runs):
        if name == base: continue
        seeds = sorted(s for c, s in by if c == name and (base, s) in by)
        if len(seeds) < 2: continue
        res[name] = {}
        for k in KEYS:
            a = [by[(name, s)].get(k) for s in seeds]; b = [by[(base, s)].get(k) for s in seeds]
            if None in a or None in b: continue
            res[name][k] = dict(seeds=seeds, **paired_test(a, b))
    return res

def summary(runs_dir:Path, out:Path):
    from ctinv.evidence import seed_summary
    runs = [json.loads(p.read_text()) for p in sorted(runs_dir.glob('*_s*.json'))]
    res = dict(what=__doc__.splitlines()[0], configs={})
    for name in dict.fromkeys(r['config'] for r in runs):
        rs = sorted((r for r in runs if r['config'] == name), key=lambda r: r['seed'])
        s = {}
        for k in KEYS:
            v = [r[k] for r in rs if r.get(k) is not None]
            if v: s[k] = dict(seed_summary(v, one_std=None), values=v)
        res['configs'][name] = dict(description=rs[0]['description'], loss_kw=rs[0]['loss_kw'],
                                    train_kw=rs[0]['train_kw'], seeds=[r['seed'] for r in rs], summary=s)
    res['paired_vs_base'] = paired(runs)
    from ctinv.core import atomic_write_json
    atomic_write_json(out, res)
    for name, c in res['configs'].items():
        print(f"{name:14s} n={len(c['seeds'])} "
              + "  ".join(f"{k} {v['mean']:.3f}" + (f"±{v['std']:.3f}" if v['std'] else '')
                          for k, v in c['summary'].items() if k not in ('images',)))

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--configs', nargs='+', default=['base'], choices=list(CONFIGS))
    p.add_argument('--seeds', type=int, nargs='+', default=[0])
    p.add_argument('--steps', type=int, default=1800)
    p.add_argument('--curve_every', type=int, default=300)
    p.add_argument('--runs', default=str(ROOT/'bench'/'results'/'recipe'))
    p.add_argument('--summary', action='store_true', help="only gather the run files into --out")
    p.add_argument('--out', default=str(ROOT/'bench'/'results'/'recipe.json'))
    a = p.parse_args()
    if a.steps < 1 or a.curve_every < 1: p.error("--steps and --curve_every must be >= 1")
    runs = Path(a.runs)
    if a.summary: return summary(runs, Path(a.out))
    runs.mkdir(parents=True, exist_ok=True)
    from ctinv.core import atomic_write_json
    for c in a.configs:
        for s in a.seeds:
            f = runs/f'{c}_s{s}.json'
            if f.exists(): continue
            r = run_one(c, s, a.steps, a.curve_every)
            atomic_write_json(f, r)
            print(f"{c} s{s}: psnr {r['recon_psnr']:.2f} ssim {r['recon_ssim']:.3f} edit {r['edit_accuracy']:.3f} "
                  f"samples {r['sample_accuracy']:.3f} latent std {r['latent_std']:.3f} ks {r['latent_ks']:.3f} "
                  f"cpu {r['cpu_s']:.0f} s", flush=True)
    summary(runs, Path(a.out))

if __name__ == '__main__': main()
