#!/usr/bin/env python
"""Download, here, the wheels that bench/gpu_check.py needs on the GPU machine (not a results script).

    python bench/gpu_wheels.py [--dest .whl]

The GPU image has Python 3.12, torch 2.11, torchvision, torchmetrics, scikit-image, \
scikit-learn, matplotlib, accelerate,
safetensors, pandas, requests, pyyaml, rich, anyio, python-dateutil, \
typing-extensions... but none of the packages below,
and no network. They are fetched one by one with `--no-deps` (each dependency named here, so nothing else, torch least
of all, comes along) into the ignored folder `.whl/`, which the device call carries; bench/gpu_check.py's docstring
gives the install and run command there. Versions: constraints.txt's pins where it has them, else the ones this
project's venv runs with. The list is what `ctinv.train`, `ctinv.inversion`, `ctinv.metrics` and `lpips` import
(fastprogress imports fasthtml, which imports starlette, itsdangerous and python-multipart) less what the image holds.
"""
import argparse, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PINNED = ['fastai', 'fastcore', 'fastprogress', 'plum-dispatch', 'lpips']           # versions from constraints.txt
EXTRA = {'fasttransform': '0.0.2', 'fastdownload': '0.0.8',                          # fastai's own
         'beartype': '0.23.1',                                 # plum-dispatch's (rich, typing-extensions: on the image)
         # fastprogress -> fasthtml
         'python-fasthtml': '0.14.5', 'starlette': '1.10.0', 'itsdangerous': '2.2.0', 'python-multipart': '0.0.34'}
# The Python distributions on the GPU image (as read there on 2026-11-17): tests/test_gpu_check.py runs the CPU
# check with only these and the wheels above importable, so a new import the image lacks fails a test here.
IMAGE = """
    absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
    charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core
    cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock
    flatbuffers flax fonttools formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx
    huggingface-hub humanize hypothesis idna imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin
    jaxlib jaxtyping jinja2 joblib kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax
    llvmlite lxml markdown markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack
    multidict multipledispatch mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro
    nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft
    nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-ml-py nvidia-nccl-cu13
    nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir onnxruntime onnxscript opencv-python-headless
    optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec patsy peft pillow pip
    pluggy portalocker prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing
    pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist
    python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core
    scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools shellingham simplejson
    six sortedcontainers statsmodels sympy tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl
    tifffile tiktoken timm tokenizers toolz torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision
    tqdm transformers treescope triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug
    wheel wrapt xarray xxhash yarl zipp
""".split()
PLATFORMS = ['manylinux2014_x86_64', 'manylinux_2_17_x86_64', 'manylinux_2_28_x86_64', 'any']

def constraints(path=ROOT/'constraints.txt')->dict:
    "`{name: version}` of the `name==version` lines of constraints.txt."
    pins = {}
    for line in Path(path).read_text().splitlines():
        line = line.split('#')[0].strip()
        if '==' in line: k, v = line.split('=='); pins[k.strip().lower()] = v.strip()
    return pins

def wanted()->list:
    "`['name==version', ...]`: every wheel the GPU machine lacks."
    pins = constraints()
    return [f'{k}=={pins[k]}' for k in PINNED] + [f'{k}=={v}' for k, v in EXTRA.items()]

def download(specs:list, dest:Path)->list:
    "pip download each spec for CPython 3.12 on x86-64 Linux, binary only, no dependencies; the specs that failed."
    base = [sys.executable, '-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--python-version', '3.12',
            '--implementation', 'cp', '-d', str(dest), '-q']
    failed = []
    for s in specs:
        r = subprocess.run(base + [a for pl in PLATFORMS for a in ('--platform', pl)] + [s], capture_output=True,
                           text=True)
        if r.returncode: failed.append(s); print(f'{s}: FAILED\n{r.stderr[-1500:]}', file=sys.stderr)
        else: print(f'{s}: ok', flush=True)
    return failed

def _dist(wheel:str)->tuple:
    "(normalised name, version) of a wheel's file name."
    name, version = wheel.split('-')[:2]
    return name.lower().replace('_', '-').replace('.', '-'), version

def prune(specs:list, dest:Path)->list:
    "Remove the wheels in `dest` of a listed package in another version (two versions of one package stop the install)."
    want = dict(s.lower().split('==') for s in specs)
    old = [f for f in dest.glob('*.whl') if _dist(f.name)[0] in want and _dist(f.name)[1] != want[_dist(f.name)[0]]]
    for f in old: print(f'removing {f.name}: not the version wanted'); f.unlink()
    return old

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--dest', default=str(ROOT/'.whl'))
    p.add_argument('--list', action='store_true', help='print the specs and download nothing')
    a = p.parse_args()
    specs = wanted()
    if a.list: print('\n'.join(specs)); return
    dest = Path(a.dest); dest.mkdir(parents=True, exist_ok=True)
    prune(specs, dest)
    failed = download(specs, dest)
    names = sorted(f.name for f in dest.glob('*.whl'))
    print(f"{dest}: {len(names)} wheels, {sum(f.stat().st_size for f in dest.glob('*.whl'))/2**20:.1f} MiB")
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()
