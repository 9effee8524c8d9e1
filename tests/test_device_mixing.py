"""Every method's training step, and sampling / encoding / reconstruction / editing, with the model and the data on an
accelerator, on a machine without one.

The stand-in accelerator: `DeviceCheck`, a dispatch mode under which tensors on the `meta` device are `DevTensor`s that
hold real CPU data (so values, `.item()` and data-dependent branches work as on a GPU), and an op that mixes them with a
CPU tensor of one or more dimensions raises `DeviceMixing`, as CUDA raises "Expected all tensors to be on the same
device". What CUDA accepts passes: 0-dimensional CPU tensors (scalars), copies between devices (`.to`, `copy_`) and CPU
index tensors. A CPU `torch.Generator` used to draw on the device raises too. Code that branches on
`device.type == "cuda"` takes its CPU branch here (`shared_dropout` forks the CPU RNG only): that part needs a GPU run.
"""
import math, os
from copy import deepcopy
import pytest
import torch, torch.nn as nn
from torch.utils._pytree import tree_map, tree_flatten
from torch.utils._python_dispatch import TorchDispatchMode
from torch.overrides import TorchFunctionMode

DEV = torch.device("meta")
aten = torch.ops.aten
# ops CUDA runs with CPU tensor arguments beside device tensors: copies, and CPU index tensors
MIXING_OK = {aten._to_copy.default, aten.copy_.default, aten.index.Tensor, aten.index_put_.default,
             aten.index_put.default, aten._index_put_impl_.default}

class DevTensor(torch.Tensor):
    "A tensor on the stand-in device: reports `meta`, computes on its CPU `elem`."
    @staticmethod
    def __new__(cls, elem):
        r = torch.Tensor._make_wrapper_subclass(cls, elem.shape, strides=elem.stride(),
                                                storage_offset=elem.storage_offset(), dtype=elem.dtype,
                                                layout=elem.layout, device=DEV, requires_grad=False)
        r.elem = elem
        return r
    def __repr__(self): return f"DevTensor({self.elem!r})"
    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        raise RuntimeError(f"{func} on a DevTensor outside DeviceCheck")

class DeviceMixing(RuntimeError): pass

class DeviceCheck(TorchDispatchMode):
    ("Run ops on the stand-in device; raise `DeviceMixing` where one mixes it with CPU tensors of 1+ dimensions, "
     "or draws with a CPU generator.")
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        flat = tree_flatten((args, kwargs))[0]
        dev = [a for a in flat if isinstance(a, DevTensor)]
        cpu = [a for a in flat if isinstance(a, torch.Tensor) and not isinstance(a, DevTensor) and a.dim() > 0]
        to_dev = kwargs.get("device") is not None and torch.device(kwargs["device"]) == DEV
        gen = kwargs.get("generator")
        if (dev or to_dev) and gen is not None and gen.device.type == "cpu":
            raise DeviceMixing(f"{func}: a CPU generator draws for the device")
        if dev and cpu and func not in MIXING_OK:
            raise DeviceMixing(f"{func}: expected all tensors on one device; CPU tensors of shapes "
                               f"{[tuple(c.shape) for c in cpu]} "
                               f"beside {len(dev)} on the device")
        if func is aten.index.Tensor and dev and not isinstance(args[0], DevTensor):
            raise DeviceMixing(f"{func}: a CPU tensor indexed with device indices")
        own = {id(a.elem): a for a in dev}
        un = lambda a: a.elem if isinstance(a, DevTensor) else a
        if to_dev: kwargs = {**kwargs, "device": torch.device("cpu")}
        out = func(*tree_map(un, args), **tree_map(un, kwargs))
        leaves = func is aten._to_copy.default and kwargs.get("device") is not None and not to_dev   # .cpu()
        wrap = lambda o: ((own[id(o)] if id(o) in own else o if leaves or not (dev or to_dev) else DevTensor(o))
                          if isinstance(o, torch.Tensor) else o)
        return tree_map(wrap, out)

class FromData(TorchFunctionMode):
    ("`torch.tensor` / `as_tensor` / `new_tensor` from Python data build the tensor without dispatch: "
     "build it on the CPU, then move it.")
    FNS = {torch.tensor, torch.as_tensor, torch.Tensor.new_tensor}
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.FNS:
            d = kwargs.get("device", args[0].device if func is torch.Tensor.new_tensor else None)
            if d is not None and torch.device(d) == DEV:
                data = args[1] if func is torch.Tensor.new_tensor else args[0]
                if isinstance(data, DevTensor): return data.to(**{k: v for k, v in kwargs.items() if k == "dtype"})
                kw = {**kwargs, "device": "cpu"}
                if func is torch.Tensor.new_tensor: kw.setdefault("dtype", args[0].dtype)
                return torch.as_tensor(data, **{k: v for k, v in kw.items() if k in ("dtype", "device")}).to(DEV)
        return func(*args, **kwargs)

@pytest.fixture
def device():
    # `module.to(device)` keeps each Parameter object (an optimiser made before fastai moves the model holds them) by
    # setting `.data`, which a tensor subclass cannot take: swapping the tensors keeps the identity the same way
    swap = torch.__future__.get_swap_module_params_on_conversion()
    torch.__future__.set_swap_module_params_on_conversion(True)
    try:
        with DeviceCheck(), FromData(): yield DEV
    finally: torch.__future__.set_swap_module_params_on_conversion(swap)

def on(dev, *ts): return [t.to(dev) for t in ts]

# ---------------------------------------------------------------------------------------------------------- the check
def test_the_check_catches_what_cuda_refuses(device):
    x = torch.randn(4, 3, device=device)
    assert isinstance(x, DevTensor) and x.device == DEV
    with pytest.raises(DeviceMixing): x + torch.ones(4, 3)
    with pytest.raises(DeviceMixing): torch.randn(3, generator=torch.Generator(), device=x.device)
    with pytest.raises(DeviceMixing): torch.arange(3)[torch.tensor([0, 1]).to(device)]
    assert (x + torch.tensor(2.)).device == DEV                           # scalars are fine, as on CUDA
    assert x[torch.tensor([0, 2])].shape == (2, 3)                        # CPU indices are fine
    assert type(x.cpu()) is torch.Tensor and math.isfinite(x.sum().item())
    m = nn.Linear(3, 2).to(device); m(x).sum().backward()
    assert m.weight.grad.device == DEV

def test_values_match_the_cpu(device):
    "The stand-in computes what the CPU computes: the same seed gives the same loss."
    from ctinv.losses import CTLoss
    from ctinv.pfode import ConsistencyModel
    from ctinv.nets import ToyMLP
    torch.manual_seed(0); m = ConsistencyModel(ToyMLP(hidden=16, depth=2)); x = torch.randn(32, 1)
    loss = CTLoss(total_steps=100)
    with torch.utils._python_dispatch._disable_current_modes():
        torch.manual_seed(1); ref = loss(m(*(b := loss.batch(m, x, step=50))[0]), *b[1]).item()
    md, xd = deepcopy(m).to(device), x.to(device)
    torch.manual_seed(1); xb, yb = loss.batch(md, xd, step=50)
    assert abs(loss(md(*xb), *yb).item() - ref) < 1e-6

# ------------------------------------------------------------------------------------------------- one step per method
K, C, R, B = 3, 1, 8, 4

def _unet(**kw):
    from ctinv.nets import unet_preset
    return unet_preset("tiny", in_channels=C, img_resolution=R, n_classes=K, **kw)

def _step(model, loss, device, labels=True, step=3, teacher=None):
    "One optimiser step with the model and the batch on `device`; every gradient on the device, finite."
    torch.manual_seed(0)
    x0, y = on(device, torch.rand(B, C, R, R)*2 - 1, torch.arange(B) % K)
    model = model.to(device)
    if teacher is not None: teacher = teacher.to(device)
    loss.total_steps = loss.total_steps or 100
    xb, yb = loss.batch(model, x0, y if labels else None, step=step, teacher=teacher)
    out = loss(model(*xb), *yb)
    out.backward()
    assert out.device == DEV and math.isfinite(out.item())
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(g.device == DEV for g in grads)
    torch.optim.SGD(model.parameters(), lr=1e-3).step()
    return out.item()

def _methods():
    from ctinv.losses import (DSMLoss, CTLoss, ECTLoss, CDLoss, CTInversionLoss, GuidedCDLoss, make_pair, make_loss,
                              IGCTLoss)
    from ctinv.pfode import EDMDenoiser, ConsistencyModel, Noiser
    from ctinv.ctm import CTMLoss, CTMObjective
    from ctinv.pfode import CTM
    from ctinv.bcm import BCM, BCMObjective, BCMLoss
    edm = lambda: EDMDenoiser(_unet())                                      # CPU teachers: the losses must move them
    return {
        "dsm": lambda: (EDMDenoiser(_unet()), DSMLoss(label_dropout=0., n_classes=K), {}),
        "cfg_edm": lambda: (EDMDenoiser(_unet()), DSMLoss(label_dropout=.5, n_classes=K), {}),
        "ict": lambda: (ConsistencyModel(_unet()), CTLoss(n_classes=K), {}),
        "ct_ema_teacher": lambda: (m := ConsistencyModel(_unet()), CTLoss(ema_teacher=True, n_classes=K),
                                   dict(teacher=deepcopy(m))),
        "ect": lambda: (ConsistencyModel(_unet()), ECTLoss(stage_steps=1, n_classes=K), {}),
        "cd": lambda: (ConsistencyModel(_unet()), CDLoss(edm(), n_levels=6, n_classes=K), {}),
        "guided_cd": lambda: (ConsistencyModel(_unet(guidance_embed=True)),
                              GuidedCDLoss(edm(), null_label=K, n_levels=6, n_classes=K), {}),
        "ct_inversion": lambda: (Noiser(_unet()), CTInversionLoss(n_classes=K), {}),
        "ct_inversion_continuous": lambda: (Noiser(_unet()),
                                            CTInversionLoss(continuous=True, stage_steps=1, n_classes=K), {}),
        "ctinv_pair": lambda: (make_pair("ctinv", "tiny", K, C, R), make_loss("ctinv", K), {}),
        "igct": lambda: (make_pair("igct", "tiny", K, C, R), make_loss("igct", K, stage_steps=1), {}),
        "igct_rec": lambda: (make_pair("igct", "tiny", K, C, R), make_loss("igct", K, stage_steps=1), dict(step=10)),
        "igct_cycle_batch_targets": lambda: (make_pair("igct", "tiny", K, C, R),
                                             IGCTLoss(stage_steps=1, n_classes=K, lam_cyc=1., rec_grad="denoiser",
                                                      target="batch"), dict(step=10)),
        "ctm": lambda: (CTMObjective(CTM(_unet(two_levels=True))), CTMLoss(n_levels=6, n_classes=K), {}),
        "ctm_teacher": lambda: (CTMObjective(CTM(_unet(two_levels=True))), CTMLoss(edm(), n_levels=6, n_classes=K), {}),
        "bcm": lambda: (BCMObjective(BCM(_unet(two_levels=True))), BCMLoss(n_classes=K), {}),
    }

@pytest.mark.parametrize("name", list(_methods()))
def test_training_step_on_the_device(name, device):
    model, loss, kw = _methods()[name]()
    _step(model, loss, device, **kw)
    if hasattr(loss, "teacher_denoiser") and loss.teacher_denoiser is not None:
        assert all(p.device == DEV for p in loss.teacher_denoiser.parameters()), "the loss's teacher stayed on the CPU"

# ------------------------------------------------------------------------------------- the Learner: steps and resume
def _learner(device, tmp_path, precision=None, method="igct"):
    from ctinv.losses import make_pair, make_loss
    from ctinv.train import consistency_learner
    from ctinv.data import tensor_dls
    from fastai.learner import CastToTensor
    x = torch.rand(16, C, R, R, generator=torch.Generator().manual_seed(0))*2 - 1
    dls = tensor_dls(x.to(device), (torch.arange(16) % K).to(device), bs=4, device=device)
    learn = consistency_learner(dls, make_pair(method, "tiny", K, C, R), make_loss(method, K, stage_steps=2), lr=1e-3,
                                use_labels=True, ema=.9, ckpt_dir=tmp_path/"ckpt", quiet=True, precision=precision)
    # fastai's CastToTensor turns tensor subclasses (its own TensorBase) into plain tensors with `as_subclass`:
    # that would strip the stand-in's data. ctinv's loaders yield plain tensors, so it has nothing to do here.
    return learn.remove_cb(CastToTensor)

def _states_on(learn, dev):
    "Every optimiser state tensor and every EMA / teacher parameter is on `dev`."
    st = [v for s in learn.opt.state.values() for v in s.values() if isinstance(v, torch.Tensor)]
    assert st, "no optimiser state"
    bad = [tuple(v.shape) for v in st if v.device != dev]
    assert not bad, f"optimiser state left on another device: {bad[:4]}"
    for name in ("ema_model", "teacher"):
        if getattr(learn, name, None) is not None:
            assert all(p.device == dev for p in getattr(learn, name).parameters()), name

@pytest.mark.filterwarnings("ignore:.*copying from a non-meta parameter")
def test_learner_fit_and_resume_on_the_device(device, tmp_path):
    """A fastai fit on the device, then a resumed fit: the checkpoint (read on the CPU) must land on the device.
    Placement only: `load_state_dict` skips copies into parameters that report the meta device, so the stand-in does not
    restore weight values (tests/test_resume.py checks exact resume on the CPU)."""
    learn = _learner(device, tmp_path)
    learn.fit_ct(1)
    _states_on(learn, DEV)
    again = _learner(device, tmp_path)                      # a fresh process's learner: model built on the CPU
    assert next(again.model.parameters()).device.type == "cpu"
    again.fit_ct(2, resume=True)
    assert again.train_iter == 8
    _states_on(again, DEV)

# ------------------------------------------------------------------------------------ sampling, encoding, editing
def test_sampling_encoding_editing_on_the_device(device):
    from ctinv.losses import make_pair
    from ctinv.pfode import EDMDenoiser, CTM, T_MAX
    from ctinv.samplers import (cm_sample, multistep_sample, encode, reconstruct, edit, edm_sampler, cfg, ddim_invert,
                                dm_decode, gamma_sample, interpolate, denoise, inpaint)
    from ctinv.bcm import BCM, bcm_invert, bcm_generate
    pair = make_pair("igct", "tiny", K, C, R).to(device).eval()
    D = EDMDenoiser(_unet()).to(device).eval()
    x, y = on(device, torch.rand(B, C, R, R)*2 - 1, torch.arange(B) % K)
    gen = torch.Generator().manual_seed(0)        # a CPU generator: the samplers draw on it and move the noise
    z = T_MAX*torch.randn(B, C, R, R, generator=gen).to(device)
    with torch.no_grad():
        outs = [cm_sample(pair.denoiser, z, labels=y, w=2.),
                multistep_sample(pair.denoiser, z, [1.], gen, labels=y, w=0.), encode(pair.noiser, x, labels=y),
                reconstruct(pair.noiser, pair.denoiser, x, labels=y),
                edit(pair.noiser, pair.denoiser, x, y, (y + 1) % K, w=1.), edm_sampler(D, z, n_steps=3, labels=y),
                edm_sampler(cfg(D, 2., K), z, n_steps=3, labels=y), ddim_invert(D, x, n_steps=3, labels=y),
                dm_decode(D, z, n_steps=3, labels=y), interpolate(pair.denoiser, z, z.flip(0), .3, labels=y, w=0.),
                denoise(pair.denoiser, x, .5, labels=y, w=0.),
                gamma_sample(CTM(_unet(two_levels=True)).to(device), z, [T_MAX, 1., .002], .5, gen, labels=y),
                bcm_generate(BCM(_unet(two_levels=True)).to(device), z, 2, labels=y),
                bcm_invert(BCM(_unet(two_levels=True)).to(device), x, 2, labels=y, generator=gen)]
    assert all(o.device == DEV and torch.isfinite(o.cpu()).all() for o in outs)

def test_guidance_and_editing_rows_on_the_device(device):
    "`guided_images` / `edit_images` draw their latents on the CPU generator and move them to the model's device."
    from ctinv.losses import make_pair
    from ctinv.pfode import EDMDenoiser, ConsistencyModel
    from ctinv.guidance import GUIDED_METHODS, guided_images, edit_images, editing_rows
    models = dict(igct=make_pair("igct", "tiny", K, C, R).to(device).eval(), edm=EDMDenoiser(_unet()).to(device).eval(),
                  guided_cd=ConsistencyModel(_unet(guidance_embed=True)).to(device).eval())
    labels = torch.arange(K)                                   # CPU labels, as the sweeps pass them
    with torch.no_grad():
        for m in GUIDED_METHODS:
            x, nfe = guided_images(m, models, labels, 2., (C, R, R))
            assert x.device == DEV and x.shape == (K, C, R, R)
        src = (torch.rand(2, C, R, R)*2 - 1)                    # CPU images: edit_images moves them
        for m in ("igct", "ddim_cfg"):
            e, _ = edit_images(m, models, src, torch.tensor([0, 1]), torch.tensor([1, 2]), 1.)
            assert e.device == DEV
