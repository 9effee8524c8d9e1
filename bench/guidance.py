#!/usr/bin/env python
"""Guided generation and style-preserving editing on the digits or MNIST: iGCT against CFG-EDM, \
CFG with a guidance interval, APG and guided CD.

    python bench/guidance.py [--data digits|mnist] [--preset P] [--steps N] [--igct RUN] \
[--n_per_class N] [--out bench/results]
    python bench/guidance.py --data mnist --only baselines     # one core: CFG-EDM, guided CD, the classifier, \
their rows
    python bench/guidance.py --data mnist --only igct          # the other core: the iGCT pair
    python bench/guidance.py --data mnist                      # then: the iGCT rows, the editing, the JSON and figures
    python bench/guidance.py --seed 5 --gate 0.2 2 --confirm   # a held-out seed: only CFG-EDM and the gated pair

Trains (same UNet preset, data and seed for all) the class-conditional EDM with label dropout (the CFG teacher and the
DDIM-inversion baseline), guided CD distilled from it and, unless `--igct RUN` names a finished `ctinv_train` run, the
iGCT pair; trains the library classifier; then, for each method and w in {0, 1, 3, 6, 9, 12}, samples `n_per_class`
images per class from the same latents and measures precision / recall (k = 3) and the Frechet distance on the
classifier's features against the held-out images, class accuracy and saturation, and the same numbers of real images
(`floor`: the held-out images split in half, and training images against them; mean and sd over 20 draws). \
Writes OUT/guidance.json (digits) or
OUT/guidance_mnist.json (rows: method, w, nfe, precision, recall, fd, class_acc, saturation, images_per_s, ...), and
the curves and sample grids beside it. Inception-based numbers are not computed here (no Inception weights on this
machine): see `ctinv.metrics.inception_metrics` for scoring with user-provided weights.

Trained networks (safetensors + JSON, nothing pickled) and finished rows are kept in `--models` (default
bench/checkpoints/guidance_DATA_PRESET_STEPS_seedS) and reused by a later run with the same data, preset, steps, seed
and sample counts, so the expensive parts can run as separate processes, one per core (`--only`). `--confirm` trains
and scores only what the omega = 13 guidance target compares (CFG-EDM and the pair trained with `--gate`), for seeds
that take no part in choosing the gate.
"""
import argparse, json, os, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = {'digits': dict(preset='digits', n_ref=None, n_per_class=100, n_edit=100, edit_ws=(0., 3., 6., 12.),
                           clf_epochs=5),
            # MNIST: 1,000 test images as the reference set (and the only validation of training), 50 samples per class,
            # 50 edited test digits: the CFG-family rows cost 70 network calls per image on this CPU
            'mnist': dict(preset='mnist-cpu', n_ref=1000, n_per_class=50, n_edit=50, edit_ws=(0., 3., 12.),
                          clf_epochs=2)}
BASELINES, IGCT = ('cfg', 'cfg_interval', 'apg', 'guided_cd', 'guided_cd_2'), ('igct', 'igct_2')

def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', default='digits', choices=sorted(DEFAULTS))
    p.add_argument('--preset', default=None,
                   help='training preset (default: digits for the digits, mnist-cpu for MNIST)')
    p.add_argument('--steps', type=int, default=None)
    p.add_argument('--igct', default=None, help='a finished ctinv_train run folder to take the iGCT pair from')
    p.add_argument('--n_per_class', type=int, default=None); p.add_argument('--n_edit', type=int, default=None)
    p.add_argument('--only', default=None, choices=('baselines', 'igct'),
                   help='train (and score) only these, then stop')
    p.add_argument('--models', default=None,
                   help='folder of trained networks and finished rows '
                        '(default bench/checkpoints/guidance_DATA_PRESET_STEPS_seedS)')
    p.add_argument('--gate', nargs=2, type=float, default=None, metavar=('T_LOW', 'T_HIGH'),
                   help="also train iGCT with its guidance gate p_g(t) rising from T_LOW to T_HIGH "
                        "(the authors': 11 14.3); rows igct_gate, igct_gate_2")
    p.add_argument('--confirm', action='store_true',
                   help="only CFG-EDM (rows cfg) and the pair trained with --gate (rows igct_gate, igct_gate_2): "
                        "no guided CD, no pair with the authors' gate, no editing; for held-out confirmation seeds")
    p.add_argument('--seed', type=int, default=0); p.add_argument('--out', default=str(ROOT/'bench'/'results'))
    a = p.parse_args(argv)
    if a.confirm and (not a.gate or a.only or a.igct):
        p.error("--confirm needs --gate T_LOW T_HIGH and neither --only nor --igct")
    if a.gate and not 0 < a.gate[0] < a.gate[1]:
        p.error(f"--gate needs 0 < T_LOW < T_HIGH, got {a.gate[0]:g} {a.gate[1]:g}")
    d = DEFAULTS[a.data]
    a.preset = a.preset or d['preset']
    sys.path.insert(0, str(ROOT))
    from ctinv.presets import TRAIN_PRESETS   # a small module: nothing heavy is imported before the options are checked
    if a.preset not in TRAIN_PRESETS: p.error(f"--preset must be one of {', '.join(TRAIN_PRESETS)}, got {a.preset!r}")
    for k in ('steps', 'n_per_class', 'n_edit'):
        v = getattr(a, k)
        if v is not None and v < 1: p.error(f"--{k} must be a positive integer, got {v}")
    if Path(a.out).exists() and not Path(a.out).is_dir():
        p.error(f"--out {a.out} is a file, not a folder: give a results folder")
    if a.igct: check_igct_run(p, a.igct, a.data)
    a.n_per_class = d['n_per_class'] if a.n_per_class is None else a.n_per_class
    a.n_edit = d['n_edit'] if a.n_edit is None else a.n_edit
    a.models = Path(a.models
                    or ROOT/'bench'/'checkpoints'/f"guidance_{a.data}_{a.preset}_{a.steps or 'preset'}_seed{a.seed}")
    return a, d

def check_igct_run(p, run, data):
    "Refuse (before any training) an --igct folder without a finished iGCT run on `data`."
    ck = Path(run)/'ckpt'/'checkpoint.json'
    if not ((Path(run)/'metrics.json').exists() and ck.exists()):
        p.error(f"--igct {run}: no finished ctinv_train run there (expected metrics.json and ckpt/checkpoint.json)")
    try: conf = json.loads(ck.read_text()).get('config') or {}
    except (ValueError, UnicodeDecodeError): p.error(f"--igct {run}: {ck} is not valid JSON")
    if conf.get('method') != 'igct': p.error(f"--igct {run}: the run's method is {conf.get('method')!r}, not 'igct'")
    if conf.get('data') != data:
        p.error(f"--igct {run}: the run was trained on {conf.get('data')!r}, not --data {data}")

class Cache:
    ("Networks and rows of one configuration in a folder: `<name>.safetensors` + `<name>.json`; "
     "a different configuration is never reused.")
    def __init__(self, folder:Path, key:dict): self.folder, self.key = folder, key
    def _meta(self, name): return self.folder/f'{name}.json'
    def has(self, name):
        f = self._meta(name)
        return f.exists() and json.loads(f.read_text()).get('key') == self.key
    def info(self, name): return json.loads(self._meta(name).read_text())
    def load(self, name, module):
        from safetensors.torch import load_file
        from ctinv.core import load_strict
        load_strict(module, load_file(str(self.folder/f'{name}.safetensors')), name)
        return module.eval().requires_grad_(False)
    def save(self, name, module=None, **info):
        from ctinv.core import atomic_save_tensors, atomic_write_text
        self.folder.mkdir(parents=True, exist_ok=True)
        if module is not None: atomic_save_tensors(module.state_dict(), self.folder/f'{name}.safetensors')
        atomic_write_text(self._meta(name), json.dumps(dict(key=self.key, **info)))

def main(argv=None):
    a, d = parse(argv)
    import torch
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', 1)))
    from ctinv.data import get_dls
    from ctinv.train import train_pair
    from ctinv.metrics import train_classifier, Classifier
    from ctinv.images import held_out
    from ctinv.pfode import EDMDenoiser, ConsistencyModel
    from ctinv.losses import make_pair
    from ctinv.guidance import (train_cfg_edm, train_guided_cd, load_pair, guidance_sweep, editing_rows, plot_guidance,
                                sample_rows_grid, class_unet, guided_share, real_floor, W_GRID)
    from ctinv.presets import TRAIN_PRESETS
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    log = lambda s: print(s, flush=True)
    p = TRAIN_PRESETS[a.preset]
    steps = a.steps or p['steps']
    dls = get_dls(a.data, bs=p['bs'], seed=a.seed, device='cpu', n_valid=d['n_ref'])
    m = dls.meta
    cache = Cache(a.models, dict(data=a.data, preset=a.preset, steps=steps, seed=a.seed, n_ref=d['n_ref']))
    def get(name, make_empty, train):
        "The cached network `name`, or train it (timing its CPU seconds) and cache it."
        if cache.has(name):
            log(f"{name}: cached in {a.models} ({cache.info(name)['cpu_s']:.0f} CPU s when trained)")
            return cache.load(name, make_empty()), cache.info(name)['cpu_s']
        t0 = time.process_time(); net = train().eval().requires_grad_(False); cpu = time.process_time() - t0
        cache.save(name, net, cpu_s=cpu); log(f"{name} trained ({cpu:.0f} CPU s)")
        return net, cpu
    # what this run trains and scores: everything, one half (--only), or CFG-EDM and the gated pair (--confirm, which
    # trains neither guided CD nor the pair with the authors' gate)
    plan = dict(rows=('cfg',) if a.confirm else BASELINES if a.only else BASELINES + IGCT,
                edits=() if a.confirm else ('ddim_cfg',) if a.only else ('ddim_cfg', 'igct'))
    cost, models = {}, {}
    if a.only != 'igct':
        models['edm'], cost['cfg_edm_cpu_s'] = get('cfg_edm', lambda: EDMDenoiser(class_unet(a.preset, m)),
                                                   lambda: train_cfg_edm(dls, a.preset, steps, seed=a.seed))
        if not a.confirm: models['guided_cd'], cost['guided_cd_cpu_s'] = get(
            'guided_cd', lambda: ConsistencyModel(class_unet(a.preset, m, guidance_embed=True)),
            lambda: train_guided_cd(models['edm'], dls, a.preset, steps, seed=a.seed + 1))
    if a.only != 'baselines':
        if a.igct: models['igct'], cost['igct_cpu_s'] = load_pair(a.igct), None
        elif not a.confirm:
            models['igct'], cost['igct_cpu_s'] = get(
                'igct', lambda: make_pair('igct', p['net'], m.n_classes, m.channels, m.resolution),
                lambda: train_pair(dls, 'igct', a.preset, steps, seed=a.seed).ema_model)
        if a.gate:
            gate = dict(t_low=a.gate[0], t_high=a.gate[1])
            models['igct_gate'], cost['igct_gate_cpu_s'] = get(f"igct_gate_{a.gate[0]:g}_{a.gate[1]:g}",
                lambda: make_pair('igct', p['net'], m.n_classes, m.channels, m.resolution),
                lambda: train_pair(dls, 'igct', a.preset, steps, seed=a.seed, loss_kw=gate).ema_model)
    if a.only == 'igct': return log(f"iGCT pair in {a.models}")
    def train_clf():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(a.seed); return train_classifier(dls, epochs=d['clf_epochs'])
    clf, cost['classifier_cpu_s'] = get('classifier', lambda: Classifier(m.channels, m.n_classes), train_clf)
    def rows_of(name, compute, keep):
        "Finished rows from the cache, or compute (and, for networks of the cache, keep) them."
        if keep and cache.has(name): return cache.info(name)['rows']
        r = compute()
        if keep: cache.save(name, rows=r)
        return r
    x, y = held_out(dls)
    rows = [r for method in plan['rows']
            for r in rows_of(f'rows_{method}_n{a.n_per_class}',
                             lambda: guidance_sweep(models, clf, x, a.n_per_class, W_GRID, methods=(method,),
                                                    seed=a.seed, log=log),
                             keep=not (a.igct and method in IGCT))]
    if a.gate and not a.only:   # the same sweep of the pair trained with the other gate, its rows renamed
        rename = lambda rs: [dict(r, method=r['method'].replace('igct', 'igct_gate'), gate=a.gate) for r in rs]
        rows += [r for method in IGCT
                 for r in rows_of(f"rows_gate_{a.gate[0]:g}_{a.gate[1]:g}_{method}_n{a.n_per_class}",
                                  lambda: rename(guidance_sweep(dict(igct=models['igct_gate']), clf, x, a.n_per_class,
                                                                W_GRID, methods=(method,), seed=a.seed, log=log)),
                                  keep=True)]
    xe, ye = held_out(dls, a.n_edit, seed=a.seed)
    edits = [r for method in plan['edits']
             for r in rows_of(f'edits_{method}_n{a.n_edit}',
                              lambda: editing_rows(models, clf, xe, ye, ws=d['edit_ws'], methods=(method,)),
                              keep=not (a.igct and method == 'igct'))]
    for r in edits:
        log(f"edit {r['method']:9s} w={r['w']:4.1f} acc {r['edit_acc']:.3f} SSIM {r['edit_ssim']:.3f} "
            f"PSNR {r['edit_psnr']:.2f} recon PSNR {r['recon_psnr']:.2f} {r['edits_per_s']:.0f} edits/s")
    if a.only: return log(f"baselines and their rows in {a.models}")
    res = dict(data=a.data, preset=a.preset, steps=steps, seed=a.seed, n_per_class=a.n_per_class,
               reference=f'held-out {a.data} images (classifier features)', n_reference=len(x), n_edit=a.n_edit,
               torch_threads=torch.get_num_threads(),
               features='library classifier (penultimate layer); '
                        'Inception-based FID/precision/recall need user-provided weights',
               cost=cost, rows=rows, editing=edits, igct_run=a.igct, gate=a.gate, confirm=a.confirm,
               nfe_counts='network calls')
    xt, yt = dls.train.dataset.x, dls.train.dataset.y                  # the real-vs-real floor of the rows' numbers
    res['floor'] = dict(split_half=real_floor(clf, x, y, seed=a.seed),
                        train=real_floor(clf, x, y, xt, yt, n=min(len(xt), a.n_per_class*m.n_classes), seed=a.seed))
    if a.gate:
        res['guided_share'] = dict(default=guided_share(), gate=guided_share(t_low=a.gate[0], t_high=a.gate[1]))
    stem = 'guidance' if a.data == 'digits' else f'guidance_{a.data}'
    from ctinv.core import atomic_write_text
    atomic_write_text(out/f'{stem}.json', json.dumps(res, indent=2))
    plot_guidance(rows).savefig(out/f'{stem}_curves.png', dpi=70, bbox_inches='tight')
    if a.confirm: sample_rows_grid(dict(edm=models['edm'], igct=models['igct_gate']), (0., 3., 12.), m,
                                   out/f'{stem}_samples.png', methods=('cfg', 'igct', 'igct_2'), seed=a.seed,
                                   label=dict(igct='igct_gate', igct_2='igct_gate_2'))
    else: sample_rows_grid(models, (0., 3., 12.), m, out/f'{stem}_samples.png', seed=a.seed)
    log(f"wrote {out/f'{stem}.json'}, {out/f'{stem}_curves.png'}, {out/f'{stem}_samples.png'}")

if __name__ == '__main__': main()
