"""Mixed precision on the CPU stands in for fastai's `MixedPrecision` on CUDA: predictions that survive its conversion
of every element to float, autocast that ends when a fit raises, and the `precision` option of `train_pair`."""
import json
import pytest
import torch
from fastai.callback.core import Callback
from fastai.torch_core import to_float            # what MixedPrecision.after_pred applies to `learn.pred`

K, C, R, B = 3, 1, 8, 4

def _igct(**kw):
    from ctinv.losses import make_pair, make_loss
    return make_pair("igct", "tiny", K, C, R), make_loss("igct", K, stage_steps=1, total_steps=100, **kw)

@pytest.mark.parametrize("step", [0, 1])                       # with and without the reconstruction term
@pytest.mark.parametrize("kw", [{}, dict(lam_cyc=1.), dict(rec_grad="denoiser")])
def test_igct_prediction_survives_to_float(step, kw):
    pair, loss = _igct(**kw)
    torch.manual_seed(0)
    x0, y = torch.rand(B, C, R, R)*2 - 1, torch.arange(B) % K
    xb, yb = loss.batch(pair, x0, y, step=step)
    pred = pair(*xb)
    assert all(isinstance(p, torch.Tensor) for p in pred), "a prediction must hold tensors only"
    conv = to_float(pred)
    assert torch.allclose(loss(conv, *yb), loss(pred, *yb))
    d = loss.terms(conv, *yb)
    assert (d["rec"] is None) == (step != 0)

class MimicMixedPrecision(Callback):
    "MixedPrecision's prediction hook, without CUDA."
    order = 10
    def after_pred(self): self.learn.pred = to_float(self.pred)

def _learner(precision=None, cbs=(), **kw):
    from ctinv.train import consistency_learner
    from ctinv.data import tensor_dls
    pair, loss = _igct(recon_every=2)
    x = torch.rand(16, C, R, R, generator=torch.Generator().manual_seed(0))*2 - 1
    dls = tensor_dls(x, torch.arange(16) % K, bs=4)
    return consistency_learner(dls, pair, loss, lr=1e-3, use_labels=True, ema=.9, quiet=True, precision=precision,
                               cbs=list(cbs), **kw)

def test_learner_steps_under_mixed_precision_hooks():
    learn = _learner(cbs=[MimicMixedPrecision()])
    learn.fit_ct(1)                                                 # steps 0-3: with and without reconstruction
    assert learn.train_iter == 4

class Boom(Callback):
    order = 11                                                      # after the autocast callback entered autocast
    def after_pred(self):
        if self.training: raise RuntimeError("boom")

def test_autocast_ends_when_fit_raises():
    learn = _learner(precision="bf16", cbs=[Boom()])
    assert not torch.is_autocast_enabled("cpu")
    with pytest.raises(RuntimeError, match="boom"): learn.fit_ct(1)
    assert not torch.is_autocast_enabled("cpu"), "autocast stayed on after the exception"

def test_bf16_on_the_cpu_trains():
    learn = _learner(precision="bf16")
    learn.fit_ct(1)
    assert learn.train_iter == 4 and not torch.is_autocast_enabled("cpu")
    assert all(torch.isfinite(p).all() for p in learn.model.parameters())

def test_precision_option(tmp_path):
    from ctinv.train import default_precision, train_pair, AutocastCPU
    from ctinv.data import get_dls
    assert default_precision("cpu") == "fp32"
    dls = get_dls("digits", bs=16, seed=0, n_train=64, device="cpu")
    learn = train_pair(dls, "igct", "digits", steps=2, ckpt_dir=tmp_path/"a")
    cfg = json.loads((tmp_path/"a"/"checkpoint.json").read_text())["config"]
    assert cfg["precision"] == "fp32" and not any(isinstance(c, AutocastCPU) for c in learn.cbs)
    learn = train_pair(dls, "igct", "digits", steps=2, ckpt_dir=tmp_path/"b", precision="bf16",
                       config=dict(note="kept"))
    cfg = json.loads((tmp_path/"b"/"checkpoint.json").read_text())["config"]
    assert cfg == dict(note="kept", precision="bf16") and any(isinstance(c, AutocastCPU) for c in learn.cbs)
    with pytest.raises(ValueError, match="precision"): train_pair(dls, "igct", "digits", steps=2, precision="fp8")
    with pytest.raises(ValueError, match="CUDA"): train_pair(dls, "igct", "digits", steps=2, precision="fp16")
