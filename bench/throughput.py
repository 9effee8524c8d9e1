"""Training, sampling and encoding throughput of the image presets (not run by the tests).

    python bench/throughput.py [--steps 5] [--presets digits mnist cifar10] [--devices cpu cuda] [--out bench/results/throughput.json]

Per preset and device: training images/s of the iGCT and CT-Inversion pairs (one optimiser step = noiser + denoiser,
`consistency_learner`'s loop), the peak memory of that training (CPU: peak resident set of a fresh process per
measurement; CUDA: `max_memory_allocated`), one-step sampling images/s (1 NFE, `cm_sample`) and encoding images/s
(1 NFE, `encode`). Each measurement runs in its own process so that peak memory is its own. Synthetic images of the
preset's shape are used: the numbers do not depend on the pixels.
"""
import argparse, json, os, platform, resource, subprocess, sys, time
from pathlib import Path

BATCH = {'cpu': dict(digits=128, mnist=32, cifar10=8), 'cuda': dict(digits=512, mnist=256, cifar10=128)}
SHAPES = dict(digits=(1, 8), mnist=(1, 28), cifar10=(3, 32))

def measure(preset:str, method:str, device:str, steps:int)->dict:
    "One measurement in this process: train `steps` steps (after 2 warm-up steps), then sample and encode."
    import torch
    from fastai.data.core import DataLoaders
    from ctinv.data import BatchDL, TensorImages, DataMeta
    from ctinv.losses import make_pair, make_loss
    from ctinv.presets import TRAIN_PRESETS
    from ctinv.train import consistency_learner
    from ctinv.samplers import encode, cm_sample
    from ctinv.pfode import T_MAX
    dev = torch.device(device)
    C, R = SHAPES[preset]
    bs = BATCH[dev.type][preset]
    g = torch.Generator().manual_seed(0)
    x, y = (torch.rand(bs*(steps + 2), C, R, R, generator=g)*2 - 1).to(dev), torch.randint(10, (bs*(steps + 2),), generator=g).to(dev)
    dl = lambda a, b, shuffle: BatchDL(TensorImages(a, b), bs=bs, shuffle=shuffle, drop_last=shuffle, device=dev)
    dls = DataLoaders(dl(x, y, True), dl(x[:bs], y[:bs], False), device=dev)
    dls.meta = DataMeta(preset, 10, C, R, [str(i) for i in range(10)])
    pair = make_pair(method, TRAIN_PRESETS[preset]['net'], 10, C, R).to(dev)
    learn = consistency_learner(dls, pair, make_loss(method, 10), lr=1e-4, use_labels=True, ema=0.999, quiet=True)
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == 'cuda' else (lambda: None)
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats(dev)
    times = []
    from fastai.callback.core import Callback
    class Clock(Callback):
        order = 14   # before ConsistencyCB (15): the step's time includes its stop-gradient target pass
        def before_batch(self):
            if self.training: sync(); self.t = time.perf_counter()
        def after_batch(self):
            if self.training: sync(); times.append(time.perf_counter() - self.t)
    learn.add_cb(Clock())
    learn.fit(1, 1e-4)
    train_s = sum(times[2:])                                           # the first two steps warm up
    out = dict(preset=preset, method=method, device=str(dev), batch_size=bs, train_steps=len(times) - 2,
               train_img_per_s=bs*(len(times) - 2)/train_s,
               train_peak_mem_mb=(torch.cuda.max_memory_allocated(dev)/2**20 if dev.type == 'cuda'
                                  else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024))
    pair = learn.ema_model.eval()
    with torch.no_grad():
        z = T_MAX*torch.randn(x[:bs].shape, generator=g).to(dev)
        for name, fn in (('sample', lambda: cm_sample(pair.denoiser, z, labels=y[:bs], w=0. if method == 'igct' else None)),
                         ('encode', lambda: encode(pair.noiser, x[:bs], labels=y[:bs]))):
            fn(); sync()
            t0, n = time.perf_counter(), 0
            while n < 3 or time.perf_counter() - t0 < 1.: fn(); n += 1
            sync()
            out[f'{name}_img_per_s'] = bs*n/(time.perf_counter() - t0)
    return out

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--steps', type=int, default=5, help="timed training steps per measurement")
    p.add_argument('--presets', nargs='+', default=['digits', 'mnist', 'cifar10'])
    p.add_argument('--methods', nargs='+', default=['ctinv', 'igct'])
    p.add_argument('--devices', nargs='+', default=None, help="default: cpu, and cuda when present")
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'throughput.json'))
    p.add_argument('--one', nargs=3, metavar=('PRESET', 'METHOD', 'DEVICE'), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        print(json.dumps(measure(*a.one, a.steps))); return
    import torch
    devices = a.devices or (['cpu'] + (['cuda'] if torch.cuda.is_available() else []))
    rows = []
    for dev in devices:
        for preset in a.presets:
            for method in a.methods:
                r = subprocess.run([sys.executable, __file__, '--one', preset, method, dev, '--steps', str(a.steps)],
                                   capture_output=True, text=True)
                if r.returncode: raise RuntimeError(f"{preset}/{method}/{dev} failed:\n{r.stderr[-3000:]}")
                rows.append(json.loads(r.stdout.strip().splitlines()[-1])); print(rows[-1], flush=True)
    res = dict(torch=torch.__version__, python=platform.python_version(), machine=platform.machine(),
               cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(),
               omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
               cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
               load_avg=os.getloadavg(), results=rows)
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix('.tmp'); tmp.write_text(json.dumps(res, indent=2)); os.replace(tmp, out)

if __name__ == '__main__': main()
