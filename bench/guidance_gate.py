"""Does iGCT learn to guide on the digits when more of its pairs are guided? Trains the default job (digits preset, seed 0) with the
guidance gate p_g(t) rising from T_LOW to T_HIGH and sweeps iGCT (1 and 2 NFE) over w. Usage: python bench/guidance_gate.py T_LOW T_HIGH
(the default job is 11 14.3)."""
import sys, json, time, torch
from pathlib import Path
torch.set_num_threads(1)
from ctinv.data import get_dls
from ctinv.train import train_pair
from ctinv.metrics import train_classifier
from ctinv.images import held_out
from ctinv.guidance import guidance_sweep, guided_share
dls = get_dls('digits', bs=64, seed=0, device='cpu')
torch.manual_seed(0); clf = train_classifier(dls, epochs=5)
x, y = held_out(dls)
kw = dict(t_low=float(sys.argv[1]), t_high=float(sys.argv[2]))
share = guided_share(**kw)
c0 = time.process_time()
pair = train_pair(dls, 'igct', 'digits', seed=0, loss_kw=kw).ema_model.eval().requires_grad_(False)
cpu = time.process_time() - c0
rows = guidance_sweep(dict(igct=pair), clf, x, 100, (0., 3., 6., 12.), methods=('igct', 'igct_2'), log=print)
json.dump(dict(gate=kw, guided_share=share, train_cpu_s=cpu, rows=rows), open(str(Path(__file__).resolve().parent/'results'/f'guidance_gate_{sys.argv[1]}_{sys.argv[2]}.json'), 'w'), indent=1)
print('share', share, 'cpu', cpu)
