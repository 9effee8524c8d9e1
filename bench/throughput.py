"""Training, sampling and encoding throughput of the image presets (not run by the tests; \
the harness is bench/harness.py,
shared with bench/gpu_check.py).

    python bench/throughput.py [--steps 5] [--presets digits mnist cifar10] [--devices cpu cuda] \
[--out bench/results/throughput.json]

Per preset and device: training images/s of the iGCT and CT-Inversion pairs (one optimiser step = noiser + denoiser,
`train_pair`'s loop, the library's default precision unless `--precision`), the peak memory of that training (CPU: \
peak resident set of a fresh process per
measurement; CUDA: `max_memory_allocated`), one-step sampling images/s (1 NFE, `cm_sample`) and encoding images/s
(1 NFE, `encode`). Each measurement runs in its own process so that peak memory is its own. Synthetic images of the
preset's shape are used: the numbers do not depend on the pixels.
"""
import argparse, json, os, platform, subprocess, sys
from pathlib import Path

BATCH = {'cpu': dict(digits=128, mnist=32, cifar10=8), 'cuda': dict(digits=512, mnist=256, cifar10=128)}

def measure(preset:str, method:str, device:str, steps:int, precision:str|None=None)->dict:
    ("One measurement in this process (bench/harness.py): train `steps` steps "
     "(after 2 warm-up steps), then sample and encode.")
    import torch
    import harness
    from ctinv.train import default_precision
    dev = torch.device(device)
    bs = BATCH[dev.type][preset]
    precision = precision or default_precision(dev)
    out, learn = harness.train_speed(preset, method, dev, bs, steps, precision)
    xb, yb = learn.dls.valid.one_batch()
    return dict(preset=preset, method=method, device=str(dev), precision=precision, **out,
                **harness.infer_speed(learn.ema_model, method, dev, xb, yb, precision, min_s=1.))

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--steps', type=int, default=5, help="timed training steps per measurement")
    p.add_argument('--presets', nargs='+', default=['digits', 'mnist', 'cifar10'])
    p.add_argument('--methods', nargs='+', default=['ctinv', 'igct'])
    p.add_argument('--devices', nargs='+', default=None, help="default: cpu, and cuda when present")
    p.add_argument('--precision', choices=['fp32', 'bf16', 'fp16'], default=None,
                   help="default: the library's (CPU fp32, CUDA bf16)")
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'throughput.json'))
    p.add_argument('--one', nargs=3, metavar=('PRESET', 'METHOD', 'DEVICE'), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        print(json.dumps(measure(*a.one, a.steps, a.precision))); return
    import torch
    devices = a.devices or (['cpu'] + (['cuda'] if torch.cuda.is_available() else []))
    rows = []
    for dev in devices:
        for preset in a.presets:
            for method in a.methods:
                r = subprocess.run([sys.executable, __file__, '--one', preset, method, dev, '--steps', str(a.steps)]
                                   + (['--precision', a.precision] if a.precision else []),
                                   capture_output=True, text=True)
                if r.returncode: raise RuntimeError(f"{preset}/{method}/{dev} failed:\n{r.stderr[-3000:]}")
                rows.append(json.loads(r.stdout.strip().splitlines()[-1])); print(rows[-1], flush=True)
    res = dict(torch=torch.__version__, python=platform.python_version(), machine=platform.machine(),
               cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(),
               omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
               cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
               load_avg=os.getloadavg(), results=rows)
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    from ctinv.core import atomic_write_json
    atomic_write_json(out, res, indent=2)

if __name__ == '__main__': main()
