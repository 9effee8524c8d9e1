#!/usr/bin/env python
"""One command for a lent GPU: per preset, training images/s in fp32 and bf16 with torch.compile off and on, peak
memory, one-step sampling and encoding images/s, and the Table-1 protocol's seconds per batch of 128.

The GPU machine has Python 3.12 and torch 2.11 but not fastai & co. and no network: first, here, `python
bench/gpu_wheels.py` puts their wheels in the ignored folder `.whl/`; the device call carries `.whl` and runs, as ONE
command of at most 8 minutes on one H100 (the install takes seconds; `--no-deps --target` leaves its torch alone):

    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && PYTHONUNBUFFERED=1 \
PYTHONPATH=.:/tmp/site python3 bench/gpu_check.py --budget 420 --out $OUT/gpu_check.json

Elsewhere: `python bench/gpu_check.py [--out bench/results/gpu_check.json] [--budget 420]`, and
`python bench/gpu_check.py --tiny --out /tmp/gpu_check.json`: the same code on the CPU at tiny shapes (a test; the
torch.compile items are skipped there unless `--compile` is given: compiling a UNet for the CPU takes minutes).

Items, most wanted first: training of the small presets (tiny, digits, mnist-cpu, cifar10-cpu; both methods, fp32 and
bf16) and their Table-1 timings; the same for the real `mnist` and `cifar10` presets; \
torch.compile training of the first
method (bf16 first; digits, which repeats tiny's shapes, last); torch.compile for the other method. Training is
`ctinv.train.train_pair(precision=...)` on synthetic images of the preset's shape at the preset's batch size
(bench/harness.py, shared with bench/throughput.py: the numbers do not depend on the pixels); \
a Clock callback times every
step, the stop-gradient target pass included, synchronised with the device; the first 2 steps warm up (6 with
torch.compile, which recompiles in its first steps). Sampling and encoding time the EMA copy (never compiled).
Table 1 (`ctinv.inversion.table1`, untrained networks of the preset's UNet, fp32): \
median seconds per batch of 128 over 3
batches for CT_Inv+CM (encode + decode, 2 NFE), DDIM_Inv(30)+DM (60 NFE) and the two mixed rows (31 NFE).

Before each item the time budget left is checked against the item's expected time (the longest seen so far for its
kind, else a guess): an item that does not fit is recorded as skipped, and an alarm stops one that runs past the budget
(recorded as a failure). An item that raises is recorded with its message and the run goes on. The JSON (device, torch,
every item, a per-preset summary) is rewritten after every item, so a run stopped from outside keeps what it measured.
"""
import argparse, gc, json, os, platform, signal, sys, time, traceback, warnings
from pathlib import Path
T_START = time.time()
# fastai 2.8 calls the deprecated torch.jit.script at import
warnings.filterwarnings('ignore', category=FutureWarning)

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT/'bench'):
    if str(p) not in sys.path: sys.path.insert(0, str(p))
import harness

SMALL, REAL = ['tiny', 'digits', 'mnist-cpu', 'cifar10-cpu'], ['mnist', 'cifar10']
# expected seconds of an item of a kind never run yet (small presets)
GUESS_S = {'cuda': {('train', False): 10, ('train', True): 60, ('table1', False): 10},
           'cpu': {('train', False): 5, ('train', True): 120, ('table1', False): 5}}
REAL_FACTOR = 3   # the real presets' nets are bigger

class BudgetSpent(BaseException):
    "Raised by the alarm in an item that runs past the time budget (a BaseException: library code must not swallow it)."

_ARMED = False
def _alarm(signum, frame):
    if _ARMED: raise BudgetSpent()

class Runner:
    ("Run items in order within `budget_s` seconds of `t0`: skip those that do not fit, record failures, "
     "rewrite `out` after each.")
    def __init__(self, out, budget_s:float, res:dict, guess:dict, t0:float|None=None):
        self.out, self.budget_s, self.res, self.guess, self.t0 = (Path(out), budget_s, res, guess,
                                                                  T_START if t0 is None else t0)
        self.seen = {}                                        # kind -> longest wall time seen
        res.setdefault('items', []); res['budget_s'] = budget_s

    def left(self)->float: return self.budget_s - (time.time() - self.t0)

    def expected(self, kind:tuple)->float:
        ("Seconds an item of `kind` = (what, compile, preset) should take: the longest seen for it, "
         "else for (what, compile), else a guess.")
        if kind in self.seen: return self.seen[kind]
        same = [v for k, v in self.seen.items() if k[:2] == kind[:2]]
        g = self.guess.get(kind[:2], 10)*(REAL_FACTOR if kind[2] in REAL else 1)
        return max([g] + same)

    def run(self, item:dict, fn, kind:tuple, expected:float|None=None)->dict:
        ("Run `fn(item)` (it adds its numbers to `item`) unless it does not fit in the budget left; "
         "record the item either way.")
        need, left = (self.expected(kind) if expected is None else expected), self.left()
        if need > left:
            item['skipped'] = f'time budget: needs about {need:.0f} s, {max(left, 0):.0f} s left'
            return self.record(item)
        global _ARMED
        t = time.time()
        old = signal.signal(signal.SIGALRM, _alarm); _ARMED = True
        signal.setitimer(signal.ITIMER_REAL, max(left, 0.01))
        try: fn(item)
        except BudgetSpent:
            item.update(error=f'BudgetSpent: stopped after {time.time() - t:.0f} s, at the end of the time budget')
        except Exception as e:
            item.update(error=f"{type(e).__name__}: {e}"[:1000], trace=traceback.format_exc()[-2000:])
        finally: _ARMED = False; signal.setitimer(signal.ITIMER_REAL, 0); signal.signal(signal.SIGALRM, old)
        item['item_s'] = time.time() - t
        _free_memory()
        if 'error' not in item: self.seen[kind] = max(self.seen.get(kind, 0), item['item_s'])
        return self.record(item)

    def record(self, item:dict)->dict:
        self.res['items'].append(item); self.write()
        print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v)
                          for k, v in item.items() if k not in ('rows', 'trace')}), flush=True)
        return item

    def write(self):
        "Rewrite the JSON (atomically) with the items so far."
        self.res['wall_s'] = time.time() - self.t0; self.res['summary'] = summary(self.res['items'])
        self.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.out.with_name(self.out.name + '.tmp'); tmp.write_text(json.dumps(self.res, indent=2))
        os.replace(tmp, self.out)

def _free_memory():
    "Let go of what a finished (or failed) item left behind, CUDA's cached blocks too."
    gc.collect()
    torch = sys.modules.get('torch')
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized(): torch.cuda.empty_cache()

def _label(i:dict)->str:
    return ' '.join(v for v in (i.get('method'), i.get('precision'), 'compile' if i.get('compile') else None) if v)

def summary(items:list)->dict:
    ("Per preset: training images/s and peak memory by 'method precision [compile]', "
     "Table 1's seconds per batch, what was not measured.")
    s = {}
    for i in items:
        if i['what'] not in ('train', 'table1') and 'error' not in i: continue
        p = s.setdefault(i['preset'], {})
        if 'skipped' in i or 'error' in i:
            p.setdefault('not_measured', []).append(f"{i['what']} {_label(i)}: {i.get('skipped') or i['error'][:120]}")
        elif 'train_img_per_s' in i:
            p.setdefault('train_img_per_s', {})[_label(i)] = round(i['train_img_per_s'], 1)
            p.setdefault('train_peak_mem_mb', {})[_label(i)] = round(i['train_peak_mem_mb'], 1)
        elif 'sec_per_batch' in i: p['table1_sec_per_batch'] = {k: round(v, 5) for k, v in i['sec_per_batch'].items()}
    return s

def train_fn(preset, method, dev, bs, steps, precision, compile_):
    def fn(item):
        out, learn = harness.train_speed(preset, method, dev, bs, steps, precision, compile_)
        item.update(out)
        xb, yb = learn.dls.valid.one_batch()
        item.update(harness.infer_speed(learn.ema_model, method, dev, xb, yb, precision,
                                        min_s=0.2 if dev.type == 'cpu' else 0.5))
    return fn

def table1_fn(preset, dev, bs, n_batches):
    def fn(item): item.update(harness.table1_speed(preset, dev, bs, n_batches))
    return fn

def plan(dev, presets, methods, precisions, steps, tiny:bool, compile_cpu:bool)->list:
    "The items, most wanted first: `[(item, fn, kind)]`; a `fn` of None is recorded as skipped with the item's reason."
    from ctinv.presets import TRAIN_PRESETS
    def train(p, m, prec, c):
        bs = 8 if tiny else TRAIN_PRESETS[p]['bs']
        item = dict(what='train', preset=p, method=m, precision=prec, compile=c, batch_size=bs)
        if c and dev.type == 'cpu' and not compile_cpu:
            return (dict(item, skipped='torch.compile on the CPU (pass --compile)'), None, None)
        return (item, train_fn(p, m, dev, bs, steps, prec, c), ('train', c, p))
    def t1(p):
        bs, nb = (2, 2) if tiny else (128, 3)
        return (dict(what='table1', preset=p, precision='fp32', batch_size=bs, n_images=bs*nb),
                table1_fn(p, dev, bs, nb), ('table1', False, p))
    small, real = [p for p in presets if p not in REAL], [p for p in presets if p in REAL]
    eager = lambda ps: [train(p, m, prec, False) for p in ps for prec in precisions for m in methods]
    def comp(ps, ms):
        # bf16 first; a preset with the (net, batch, shape) of an earlier one (digits = tiny) after the others
        seen, new, again = set(), [], []
        for p in ps:
            sig = (TRAIN_PRESETS[p]['net'], TRAIN_PRESETS[p]['bs'], harness.SHAPES[p])
            (again if sig in seen else new).append(p); seen.add(sig)
        return [train(p, m, prec, True) for m in ms for p in new + again
                for prec in sorted(precisions, key=lambda x: x != 'bf16')]
    return (eager(small) + [t1(p) for p in small] + eager(real) + [t1(p) for p in real]
            + comp(small + real, methods[:1]) + comp(small + real, methods[1:]))

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default=str(ROOT/'bench'/'results'/'gpu_check.json'))
    p.add_argument('--budget', '--budget_s', dest='budget', type=float, default=420.,
                   help='seconds for the whole run, from its start')
    p.add_argument('--tiny', action='store_true', help='CPU, tiny shapes: the same code path as a test')
    p.add_argument('--compile', action='store_true', help='on the CPU: run the torch.compile items too')
    p.add_argument('--steps', type=int, default=None, help='timed training steps per item (default: 20; --tiny: 2)')
    p.add_argument('--presets', nargs='+', default=None, help=f'default: {" ".join(SMALL + REAL)} (--tiny: tiny)')
    p.add_argument('--methods', nargs='+', default=['igct', 'ctinv'])
    p.add_argument('--precisions', nargs='+', default=['fp32', 'bf16'])
    a = p.parse_args(argv)
    import torch
    dev = torch.device('cpu' if a.tiny or not torch.cuda.is_available() else 'cuda')
    presets = a.presets or (['tiny'] if a.tiny else SMALL + REAL)
    bad = [x for x in presets if x not in harness.SHAPES]
    if bad: p.error(f"unknown preset(s) {bad}: choose from {list(harness.SHAPES)}")
    res = dict(device=torch.cuda.get_device_name(dev) if dev.type == 'cuda' else platform.processor() or 'cpu',
               torch=torch.__version__, cuda=torch.version.cuda, python=platform.python_version(), tiny=a.tiny,
               command=sys.argv)
    if not a.tiny and dev.type != 'cuda': res['note'] = 'no CUDA device: ran on the CPU'
    runner = Runner(a.out, a.budget, res, GUESS_S[dev.type])
    # a missing package: recorded
    runner.run(dict(what='import', preset='-'), harness.preload, ('import', False, '-'), expected=0)
    for item, fn, kind in plan(dev, presets, a.methods, a.precisions, a.steps or (2 if a.tiny else 20), a.tiny,
                               a.compile):
        if fn is None: runner.record(item)
        else: runner.run(item, fn, kind)
    res['finished'] = True; runner.write()
    items = res['items']
    print(f"wrote {a.out}: {sum('skipped' not in i and 'error' not in i for i in items)} measured, "
          f"{sum('error' in i for i in items)} failed, "
          f"{sum('skipped' in i for i in items)} skipped, in {time.time() - T_START:.0f} s")

if __name__ == '__main__': main()
