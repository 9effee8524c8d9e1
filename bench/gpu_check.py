#!/usr/bin/env python
"""One command for a lent GPU: does every preset train (bf16 through fastai's MixedPrecision, torch.compile on and off),
sample, encode and run the Table-1 protocol, and how fast?

    python bench/gpu_check.py [--out bench/results/gpu_check.json] [--budget_s 420]
    python bench/gpu_check.py --tiny --out /tmp/gpu_check.json      # the same code path on the CPU at tiny shapes (a test)

On the CPU (`--tiny`) the torch.compile items are skipped unless `--compile` is given: compiling a UNet's forward and
backward passes for the CPU takes minutes here (tests/test_gpu_check.py runs the rest).

Per item it records images/s, peak memory and any failure (the exception's type and message; the run goes on), and
writes the JSON after every item, so a run stopped by its time limit keeps what it measured. Synthetic data of the
preset's shape: the numbers do not depend on the pixels. Items whose estimated time would pass `--budget_s` are skipped
and say so.
"""
import argparse, json, os, platform, sys, time, traceback, warnings
from pathlib import Path
warnings.filterwarnings('ignore', category=FutureWarning)      # fastai 2.8 calls the deprecated torch.jit.script at import

ROOT = Path(__file__).resolve().parents[1]
SHAPES = dict(tiny=(1, 8), digits=(1, 8), mnist=(1, 28), cifar10=(3, 32))
GPU_BATCH = dict(tiny=256, digits=256, mnist=128, cifar10=64)

def _sync(dev):
    import torch
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

def _peak_mb(dev):
    import torch, resource
    return torch.cuda.max_memory_allocated(dev)/2**20 if dev.type == 'cuda' else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024

def train_item(preset, method, dev, bs, steps, compile_, precision):
    "Train `steps` steps of a pair with `consistency_learner` on synthetic data; images/s after 2 warm-up steps."
    import torch
    from fastai.data.core import DataLoaders
    from fastai.callback.core import Callback
    from ctinv.train import consistency_learner, TensorImages, BatchDL
    from ctinv.losses import make_pair, make_loss
    from ctinv.presets import TRAIN_PRESETS
    from ctinv.samplers import encode, cm_sample
    from ctinv.pfode import T_MAX
    C, R = SHAPES[preset]
    g = torch.Generator().manual_seed(0)
    n = bs*(steps + 2)
    x, y = (torch.rand(n, C, R, R, generator=g)*2 - 1).to(dev), torch.randint(10, (n,), generator=g).to(dev)
    dl = lambda a, b, sh: BatchDL(TensorImages(a, b), bs=bs, shuffle=sh, drop_last=sh, device=dev)
    dls = DataLoaders(dl(x, y, True), dl(x[:bs], y[:bs], False), device=dev)
    pair = make_pair(method, TRAIN_PRESETS[preset]['net'], 10, C, R).to(dev)
    if compile_:
        pair.noiser.net = torch.compile(pair.noiser.net); pair.denoiser.net = torch.compile(pair.denoiser.net)
    learn = consistency_learner(dls, pair, make_loss(method, 10), lr=1e-4, use_labels=True, ema=0.999, quiet=True, precision=precision)
    times = []
    class Clock(Callback):
        order = 14   # before ConsistencyCB (15): the step's time includes its stop-gradient target pass
        def before_batch(self):
            if self.training: _sync(dev); self.t = time.perf_counter()
        def after_batch(self):
            if self.training: _sync(dev); times.append(time.perf_counter() - self.t)
    learn.add_cb(Clock())
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats(dev)
    learn.fit(1, 1e-4)
    out = dict(train_img_per_s=bs*(len(times) - 2)/sum(times[2:]), first_step_s=times[0], train_peak_mem_mb=_peak_mb(dev))
    ema = learn.ema_model.eval()
    with torch.no_grad():
        z = T_MAX*torch.randn(x[:bs].shape, generator=g).to(dev)
        for name, fn in (('sample', lambda: cm_sample(ema.denoiser, z, labels=y[:bs], w=0. if method == 'igct' else None)),
                         ('encode', lambda: encode(ema.noiser, x[:bs], labels=y[:bs]))):
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=precision == 'bf16'):
                fn(); _sync(dev); t0, k = time.perf_counter(), 0
                while k < 3 or time.perf_counter() - t0 < 0.5: fn(); k += 1
                _sync(dev)
            out[f'{name}_img_per_s'] = bs*k/(time.perf_counter() - t0)
    return out

def table1_item(dev, n_img):
    "The Table-1 protocol (four pipelines) of `ctinv.inversion` with untrained small networks: cost and NFE."
    import torch
    from ctinv.pfode import EDMDenoiser, ConsistencyModel, Noiser
    from ctinv.nets import unet_preset
    from ctinv.inversion import table1
    kw = dict(in_channels=1, img_resolution=28)
    net = 'tiny' if dev.type == 'cpu' else 'mnist'
    D, f, g = (W(unet_preset(net, **kw)).to(dev).eval() for W in (EDMDenoiser, ConsistencyModel, Noiser))
    x = (torch.rand(n_img, 1, 28, 28, generator=torch.Generator().manual_seed(0))*2 - 1).to(dev)
    t0 = time.perf_counter()
    rows, _ = table1(D, f, g, x, bs=min(128, n_img), n_ks=1000)
    return dict(wall_s=time.perf_counter() - t0, rows=rows)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default=str(ROOT/'bench'/'results'/'gpu_check.json'))
    p.add_argument('--tiny', action='store_true', help='CPU, tiny shapes: the same code path as a test')
    p.add_argument('--compile', action='store_true', help='with --tiny: run the torch.compile items on the CPU too')
    p.add_argument('--steps', type=int, default=20); p.add_argument('--budget_s', type=float, default=420.)
    a = p.parse_args()
    import torch
    dev = torch.device('cpu' if a.tiny or not torch.cuda.is_available() else 'cuda')
    presets = ['tiny'] if a.tiny else ['digits', 'mnist', 'cifar10']
    steps = 3 if a.tiny else a.steps
    res = dict(device=torch.cuda.get_device_name(dev) if dev.type == 'cuda' else platform.processor() or 'cpu',
               torch=torch.__version__, tiny=a.tiny, items=[])
    if not a.tiny and dev.type != 'cuda': res['note'] = 'no CUDA device: ran on the CPU'
    t_start = time.time()
    def record(item):
        res['items'].append(item); res['wall_s'] = time.time() - t_start
        Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(res, indent=2))
        print(json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in item.items() if k != 'rows'}), flush=True)
    for preset in presets:
        for method in ('igct', 'ctinv'):
            for compile_ in (False, True):
                precision = 'bf16' if dev.type == 'cuda' else None
                item = dict(what='train', preset=preset, method=method, compile=compile_, precision=precision,
                            batch_size=GPU_BATCH[preset] if dev.type == 'cuda' else 8)
                if time.time() - t_start > a.budget_s: record({**item, 'skipped': 'time budget spent'}); continue
                if compile_ and dev.type == 'cpu' and not a.compile: record({**item, 'skipped': 'torch.compile on the CPU (pass --compile)'}); continue
                try: item.update(train_item(preset, method, dev, item['batch_size'], steps, compile_, precision))
                except Exception as e: item.update(error=f"{type(e).__name__}: {e}"[:1000], trace=traceback.format_exc()[-2000:])
                record(item)
    item = dict(what='table1', n_images=4 if a.tiny else 128)
    try: item.update(table1_item(dev, item['n_images']))
    except Exception as e: item.update(error=f"{type(e).__name__}: {e}"[:1000], trace=traceback.format_exc()[-2000:])
    record(item)
    print(f"wrote {a.out} ({len(res['items'])} items, {sum('error' in i for i in res['items'])} failed, {time.time() - t_start:.0f} s)")

if __name__ == '__main__': main()
