("(b) `save_checkpoint` on a full disk: no partial file, the error names the checkpoint present; "
 "only files the old JSON listed are removed.")
import errno, json, os
import pytest, torch
from ctinv.pfode import ConsistencyModel
from ctinv.nets import ToyMLP
from ctinv.losses import CTLoss
from ctinv.train import consistency_learner
from ctinv.core import save_checkpoint, read_checkpoint
from ctinv.data import tensor_dls
import ctinv.train as train

@pytest.fixture
def learn():
    l = consistency_learner(tensor_dls(torch.randn(40), bs=10), ConsistencyModel(ToyMLP(hidden=8)), CTLoss(), ema=None,
                            quiet=True)
    l.create_opt(); l.train_iter = 5
    return l

def full_on(n):
    "An fsync that fails with ENOSPC from its `n`-th call on."
    calls = []
    def fsync(fd):
        calls.append(fd)
        if len(calls) >= n: raise OSError(errno.ENOSPC, "No space left on device")
    return fsync

def test_full_disk_first_checkpoint(learn, tmp_path, monkeypatch):
    monkeypatch.setattr(train.os, "fsync", full_on(2))          # the weights are written, the optimiser state is not
    with pytest.raises(OSError) as e: save_checkpoint(learn, tmp_path, 0, [])
    assert e.value.errno == errno.ENOSPC and "no checkpoint is present" in e.value.strerror
    assert list(tmp_path.iterdir()) == []                        # no weights file without its JSON, no temporary file

@pytest.mark.parametrize("n", [1, 2, 3])                         # weights, optimiser or JSON fails
def test_full_disk_keeps_old(learn, tmp_path, monkeypatch, n):
    save_checkpoint(learn, tmp_path, 0, [])
    before = sorted(p.name for p in tmp_path.iterdir())
    learn.train_iter = 9
    monkeypatch.setattr(train.os, "fsync", full_on(n))
    with pytest.raises(OSError) as e: save_checkpoint(learn, tmp_path, 1, [])
    assert "the checkpoint of step 5 (epoch 0) is kept" in e.value.strerror
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert read_checkpoint(tmp_path)[0]["step"] == 5

def test_never_deletes_unlisted(learn, tmp_path):
    save_checkpoint(learn, tmp_path, 0, [])
    other = [tmp_path/"weights-000007.safetensors", tmp_path/".weights-000008.safetensors.tmp4242"]   # another writer's
    for f in other: f.write_bytes(b"in progress")
    old = set(json.loads((tmp_path/"checkpoint.json").read_text())["files"])
    save_checkpoint(learn, tmp_path, 1, [])
    new = set(json.loads((tmp_path/"checkpoint.json").read_text())["files"])
    assert all(f.exists() for f in other) and not any((tmp_path/f).exists() for f in old - new)
    save_checkpoint(learn, tmp_path, 1, [])                  # the same epoch again: new names, the listed ones replaced
    assert read_checkpoint(tmp_path)[0]["epoch"] == 1 and len(list(tmp_path.glob("*.safetensors"))) == 3
