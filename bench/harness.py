"""The measuring harness shared by bench/gpu_check.py and bench/throughput.py (not a results script).

Synthetic images of a preset's shape (the numbers do not depend on the pixels) trained through the library's
`train_pair`, with a Clock callback around every training step: its order (14) is below `ConsistencyCB`'s (15), so a
step's time includes the loss's stop-gradient target pass. Then one-step sampling and encoding images/s of the EMA pair,
and the Table-1 protocol's seconds per batch (`ctinv.inversion.table1`). Every timer waits for the device
(`ctinv.samplers.sync_device`).
"""
import resource, time

SHAPES = {'tiny': (1, 8), 'digits': (1, 8), 'mnist': (1, 28), 'mnist-cpu': (1, 28), 'cifar10-cpu': (3, 32),
          'cifar10': (3, 32)}
WARMUP = dict(eager=2, compile=6)   # training steps left out of images/s: the first builds the optimiser state; with
# torch.compile the first steps compile and recompile (grad mode, w None or a tensor, then the guided sub-batch's size
# marked dynamic: on the CPU, iGCT's graphs stopped changing after step 3)

def preload(item:dict|None=None):
    ("Import what the measurements use (fastai, the library, torchmetrics), so that no item's time includes it; "
     "the seconds go in `item`.")
    t = time.perf_counter()
    import fastai.data.core, fastai.callback.core, ctinv.train, ctinv.data, ctinv.inversion, ctinv.metrics, \
        ctinv.samplers, torchmetrics
    if item is not None: item['import_s'] = time.perf_counter() - t

def peak_mem_mb(dev)->float:
    "CUDA: `torch.cuda.max_memory_allocated` since the last reset; CPU: the process's peak resident set."
    import torch
    if dev.type == 'cuda': return torch.cuda.max_memory_allocated(dev)/2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024

def reset_peak(dev):
    import torch
    if dev.type == 'cuda': torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(dev)

def synthetic_dls(preset:str, dev, bs:int, n_batches:int, seed:int=0):
    ("Loaders of `n_batches` full training batches of random images in [-1, 1] and labels, "
     "with the `meta` `train_pair` reads.")
    import torch
    from fastai.data.core import DataLoaders
    from ctinv.data import BatchDL, TensorImages
    from ctinv.data import DataMeta
    C, R = SHAPES[preset]
    g = torch.Generator().manual_seed(seed)
    n = bs*n_batches
    x, y = (torch.rand(n, C, R, R, generator=g)*2 - 1).to(dev), torch.randint(10, (n,), generator=g).to(dev)
    dl = lambda a, b, sh: BatchDL(TensorImages(a, b), bs=bs, shuffle=sh, drop_last=sh, device=dev)
    dls = DataLoaders(dl(x, y, True), dl(x[:bs], y[:bs], False), device=dev)
    dls.meta = DataMeta(preset, 10, C, R, [str(i) for i in range(10)])
    return dls

def train_speed(preset:str, method:str, dev, bs:int, steps:int, precision:str|None=None,
                compile_:bool=False)->tuple[dict, object]:
    """Train `WARMUP + steps` steps with `train_pair(precision=...)`; `({train_img_per_s, ...}, learner)`: images/s over
    the timed steps, the median and slowest step, and with `compile_` the graphs dynamo compiled (a number still growing
    after the warm-up shows in the slowest step)."""
    import torch
    from fastai.callback.core import Callback, CancelValidException
    from ctinv.train import train_pair
    from ctinv.samplers import sync_device
    times = []
    class Clock(Callback):
        order = 14   # before ConsistencyCB (15): the step's time includes its stop-gradient target pass
        def before_batch(self):
            if self.training: sync_device(dev); self.t = time.perf_counter()
        def after_batch(self):
            if self.training: sync_device(dev); times.append(time.perf_counter() - self.t)
        def before_validate(self):
            raise CancelValidException()   # no validation pass (with torch.compile: no eval-mode recompile)
    class Compile(Callback):
        order = 70   # after EMA (60) copied the plain networks: only the trained ones are compiled
        def before_fit(self):
            for m in (self.model.noiser, self.model.denoiser): m.net.compile()
    if compile_: torch._dynamo.reset()   # fresh guards: networks of earlier items must not use up the recompile limit
    warm = WARMUP['compile' if compile_ else 'eager']
    dls = synthetic_dls(preset, dev, bs, warm + steps)
    reset_peak(dev)
    learn = train_pair(dls, method, preset, steps=warm + steps, precision=precision, quiet=True,
                       cbs=[Clock()] + ([Compile()] if compile_ else []))
    timed = times[warm:]
    out = dict(batch_size=bs, train_steps=len(timed), train_img_per_s=bs*len(timed)/sum(timed),
               step_ms_median=1e3*sorted(timed)[len(timed)//2], step_ms_max=1e3*max(timed), warmup_steps=warm,
               warmup_s=sum(times[:warm]), train_peak_mem_mb=peak_mem_mb(dev))
    if compile_:
        from torch._dynamo.utils import counters
        out['dynamo_graphs'] = counters['stats']['unique_graphs']
    return out, learn

def infer_speed(pair, method:str, dev, x, y, precision:str|None=None, min_s:float=0.5)->dict:
    "Images/s of one-step sampling (`cm_sample`, 1 NFE) and encoding (`encode`, 1 NFE) of `pair` on the batch `x`."
    import torch
    from ctinv.samplers import encode, cm_sample, sync_device
    from ctinv.pfode import T_MAX
    pair = pair.eval()
    z = T_MAX*torch.randn(x.shape, generator=torch.Generator().manual_seed(1)).to(dev)
    out = {}
    with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=precision == 'bf16'):
        for name, fn in (('sample', lambda: cm_sample(pair.denoiser, z, labels=y, w=0. if method == 'igct' else None)),
                         ('encode', lambda: encode(pair.noiser, x, labels=y))):
            fn(); sync_device(dev); t0, k = time.perf_counter(), 0
            while k < 3 or time.perf_counter() - t0 < min_s: fn(); k += 1
            sync_device(dev)
            out[f'{name}_img_per_s'] = len(x)*k/(time.perf_counter() - t0)
    return out

def table1_speed(preset:str, dev, bs:int=128, n_batches:int=3)->dict:
    """The Table-1 protocol (`ctinv.inversion.table1`) with untrained unconditional networks of the preset's UNet, fp32:
    seconds per full batch of `bs` (median over `n_batches`, so the first batch's warm-up is left out), encode + decode,
    for CT_Inv+CM (2 NFE), DDIM_Inv(30)+DM (60), DDIM_Inv(30)+CM and CT_Inv+DM (31)."""
    import torch
    from ctinv.pfode import EDMDenoiser, ConsistencyModel, Noiser
    from ctinv.nets import unet_preset
    from ctinv.inversion import table1
    from ctinv.presets import TRAIN_PRESETS
    C, R = SHAPES[preset]
    net = TRAIN_PRESETS[preset]['net']
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        D, f, g = (W(unet_preset(net, in_channels=C, img_resolution=R)).to(dev).eval()
                   for W in (EDMDenoiser, ConsistencyModel, Noiser))
    x = (torch.rand(bs*n_batches, C, R, R, generator=torch.Generator().manual_seed(0))*2 - 1).to(dev)
    reset_peak(dev)
    t0 = time.perf_counter()
    rows, _ = table1(D, f, g, x, bs=bs, n_ks=1000)
    keep = ('method', 'sec_per_batch', 'cpu_sec_per_batch', 'nfe', 'batch', 'n_images')
    return dict(batch_size=bs, sec_per_batch={r['method']: r['sec_per_batch'] for r in rows},
                rows=[{k: r[k] for k in keep} for r in rows], wall_s=time.perf_counter() - t0,
                peak_mem_mb=peak_mem_mb(dev))
