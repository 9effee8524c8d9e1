"""Train a consistency model on the five-point toy with `ctinv.train` (used by the multi-process and resume tests).

python toy_ct.py OUT [--epochs N] [--resume] [--slow S]   (single process)
torchrun --standalone --nproc_per_node 2 toy_ct.py OUT    (2 CPU processes, gloo)
Writes OUT/ckpt/ (checkpoints), OUT/rank{R}.safetensors (final weights) and OUT/rank{R}.json (samples seen, history)."""
import argparse, json, time
from pathlib import Path
import torch
from fastai.basics import Callback
from safetensors.torch import save_file
from ctinv.pfode import ConsistencyModel
from ctinv.nets import ToyMLP
from ctinv.losses import CTLoss
from ctinv.train import consistency_learner, distrib_ctx_auto, Checkpointer
from ctinv.data import tensor_dls
from fastai.distributed import rank_distrib

class Seen(Callback):
    "Record the clean samples this rank trains on (before they are replaced by the noisy pair); optionally slow down."
    order = 0
    def __init__(self, slow): self.seen, self.slow = [], slow
    def before_batch(self):
        if self.training: self.seen += self.xb[0].tolist()
    def after_batch(self): time.sleep(self.slow)

def main():
    p = argparse.ArgumentParser()
    p.add_argument("out"); p.add_argument("--epochs", type=int, default=2); p.add_argument("--resume", action="store_true")
    p.add_argument("--slow", type=float, default=0.)
    a = p.parse_args()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    atoms = torch.tensor([-1., -.5, 0., .5, 1.])
    x = atoms[torch.randint(5, (4096,), generator=g)] + torch.arange(4096)*2e-6   # distinct values: samples are identifiable
    torch.manual_seed(0)
    seen = Seen(a.slow)
    learn = consistency_learner(tensor_dls(x, bs=256), ConsistencyModel(ToyMLP(hidden=32)), CTLoss(), lr=1e-3,
                                ema=0.99, ckpt_dir=out/"ckpt", quiet=True, cbs=[seen])
    with distrib_ctx_auto(learn): learn.fit_ct(a.epochs, resume=a.resume)   # a no-op in one process
    r = rank_distrib()
    save_file({k: v.contiguous() for k, v in learn.model.state_dict().items()}, str(out/f"rank{r}.safetensors"))
    hist = learn.cbs.filter(lambda c: isinstance(c, Checkpointer))[0].history
    (out/f"rank{r}.json").write_text(json.dumps(dict(seen=seen.seen, history=hist, train_iter=learn.train_iter)))

if __name__ == "__main__": main()
