"""settings.ini holds the ranges a user's environment may satisfy, constraints.txt the exact set CI installs: the pins,
and the GPU machine's torch 2.11.0 / torchvision 0.26.0 (which the project must not replace), fall inside the ranges."""
import configparser, re
from pathlib import Path
from packaging.requirements import Requirement
from packaging.version import Version
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
# /work/shared/ENVIRONMENT.md: installed there, nothing can be fetched
GPU_MACHINE = {"torch": "2.11.0", "torchvision": "0.26.0"}

def _reqs(key="requirements"):
    cfg = configparser.ConfigParser(); cfg.read(ROOT/"settings.ini")
    return {canonicalize_name(r.name): r for r in map(Requirement, cfg["DEFAULT"][key].split())}

def _pins():
    pins = {}
    for line in (ROOT/"constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line: continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        assert m, f"constraints.txt: {line!r} is not an exact pin"
        pins[canonicalize_name(m[1])] = Version(m[2])
    return pins

def test_gpu_machine_versions_satisfy_the_ranges():
    reqs = _reqs()
    for name, v in GPU_MACHINE.items():
        assert name in reqs, f"settings.ini does not name {name}"
        assert reqs[name].specifier.contains(v, prereleases=True), \
            f"{name} {v} (the GPU machine's) is outside {reqs[name].specifier}"

def test_pins_satisfy_the_ranges():
    pins = _pins()
    for key in ("requirements", "dev_requirements"):
        for name, r in _reqs(key).items():
            assert name in pins, f"constraints.txt does not pin {name} ({key})"
            assert r.specifier.contains(pins[name], prereleases=True), \
                f"the pin {name}=={pins[name]} is outside {r.specifier}"

def test_oldest_torch_allowed():
    "The lower bound of torch is a tested one: the GPU machine's 2.11 (reported in the test name's output with -rP)."
    spec = _reqs()["torch"].specifier
    lows = [Version(s.version) for s in spec if s.operator in (">=", "==", "~=")]
    assert lows, f"torch has no lower bound: {spec}"
    oldest = max(lows)
    print(f"oldest torch settings.ini allows: {oldest}")
    assert oldest == Version("2.11"), oldest
    assert not spec.contains(Version("2.10.99")) and spec.contains(Version("2.11.0"))
