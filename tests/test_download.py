"""Downloads of the data sets, for real: torchvision's download code against an HTTP server on 127.0.0.1 (a
`ThreadingHTTPServer` in a thread) serving the shared MNIST copies (`../shared/data/mnist` beside the clone). The full
download then loads; a truncated file, a changed byte and a Ctrl-C midway end with one line \
and leave nothing in the data
folder; downloads forbidden (`download=False`, `$CTINV_NO_DOWNLOAD`, `ctinv_train --no_download`) are refused without
a single request. Nothing of torchvision is mocked. CIFAR-10 has no full-download test (its shared copies are npz files,
which torchvision's `CIFAR10` cannot be served); its refusal and a corrupt archive are tested."""
import functools, gzip, hashlib, http.server, os, shutil, subprocess, sys, threading
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[1].parent/'shared'/'data'
MNIST_DIR = SHARED/'mnist'
BIN = Path(sys.executable).parent
NAMES = {'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
         'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')}
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

needs_mnist = pytest.mark.skipif(not all((MNIST_DIR/f'{n}.gz').is_file() for s in NAMES.values() for n in s),
                                 reason=f"no MNIST copies at {MNIST_DIR} "
                                        f"(the shared data beside the clone): nothing to serve")

class Server:
    ("A `ThreadingHTTPServer` on 127.0.0.1 (a free port) serving `folder` from a thread; "
     "`requests` lists the paths asked for.")
    def __init__(self, folder, cut:dict|None=None):
        self.requests, srv = [], self
        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **k): super().__init__(*a, directory=str(folder), **k)
            def log_message(self, *a): pass
            def do_GET(self):
                srv.requests.append(self.path)
                super().do_GET()
            def copyfile(self, source, outputfile):
                name = Path(self.path).name
                data = source.read()
                try:
                    if name in (cut or {}):                    # the connection drops after `cut[name]` bytes
                        outputfile.write(data[:cut[name]]); outputfile.flush(); self.close_connection = True
                    else: outputfile.write(data)
                except OSError: pass                           # the client hung up (the probe reads no body)
        class Quiet(http.server.ThreadingHTTPServer):
            daemon_threads = True
            def handle_error(self, request, client_address): pass
        self.httpd = Quiet(('127.0.0.1', 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
    def close(self): self.httpd.shutdown(); self.httpd.server_close()

@pytest.fixture
def serve():
    servers = []
    def _serve(folder, **kw):
        servers.append(Server(folder, **kw)); return servers[-1]
    yield _serve
    for s in servers: s.close()

@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    "No inherited download switches: each test sets what it needs."
    for k in ('CTINV_NO_DOWNLOAD', 'CTINV_MNIST_MIRROR'): monkeypatch.delenv(k, raising=False)

@pytest.fixture
def root(tmp_path):
    "An empty data root."
    (tmp_path/'data').mkdir()
    return tmp_path/'data'

def copies(dest:Path, split='test')->Path:
    "A folder with copies of the split's two files, to spoil one of them."
    dest.mkdir()
    for n in NAMES[split]: shutil.copy(MNIST_DIR/f'{n}.gz', dest/f'{n}.gz')
    return dest

def one_line_error(f, *contains)->str:
    from ctinv.data import DataUnavailable
    with pytest.raises(DataUnavailable) as e: f()
    msg = str(e.value)
    assert '\n' not in msg and all(c in msg for c in contains), msg
    return msg

def gunzip_md5(p): return hashlib.md5(gzip.decompress(p.read_bytes())).hexdigest()

@needs_mnist
def test_full_download_then_loads(serve, root, monkeypatch):
    from ctinv.data import get_dls, load_mnist, MNIST_MD5
    s = serve(MNIST_DIR)
    monkeypatch.setenv('CTINV_MNIST_MIRROR', s.url)                     # the mirror from the environment
    dls = get_dls('mnist', bs=256, root=root, device='cpu')
    assert (len(dls.train.dataset), len(dls.valid.dataset)) == (60000, 10000)
    assert (dls.train.dataset.y.bincount().tolist() == TRAIN_COUNTS
            and dls.valid.dataset.y.bincount().tolist() == TEST_COUNTS)
    assert (sorted(p.relative_to(root).as_posix() for p in root.rglob('*'))
            == ['mnist'] + sorted(f'mnist/{n}.gz' for s_ in NAMES.values() for n in s_))
    assert {p.name[:-3]: gunzip_md5(p) for p in (root/'mnist').iterdir()} == MNIST_MD5
    assert {Path(r).name for r in s.requests} == {f'{n}.gz' for s_ in NAMES.values() for n in s_}
    n = len(s.requests)
    assert load_mnist(root, 'test').x.shape == (10000, 1, 28, 28) and len(s.requests) == n   # present now: no request

@needs_mnist
@pytest.mark.parametrize('how', ['short file', 'connection cut'])
def test_truncated_file(serve, root, tmp_path, how):
    "The labels file arrives short, after the images file was fetched and checked: nothing at all is kept."
    from ctinv.data import load_mnist
    f = copies(tmp_path/'srv')
    lab = f/'t10k-labels-idx1-ubyte.gz'
    if how == 'short file':
        lab.write_bytes(lab.read_bytes()[:2000]); s = serve(f)
    else: s = serve(f, cut={lab.name: 2000})                           # Content-Length says more than arrives
    msg = one_line_error(lambda: load_mnist(root, 'test', mirror=s.url),
                         'MNIST test: download failed: t10k-labels-idx1-ubyte.gz:', f'{s.url}t10k-labels-idx1-ubyte.gz',
                         f'nothing of it was kept in {root}', 'CTINV_MNIST_MIRROR')
    assert 'truncated' in msg or 'IncompleteRead' in msg, msg
    assert list(root.iterdir()) == []
    # the first file was downloaded, then dropped
    assert any(r.endswith('t10k-images-idx3-ubyte.gz') for r in s.requests)

@needs_mnist
def test_wrong_checksum(serve, root, tmp_path):
    "One changed byte (a label 7 made 8), re-gzipped: a valid idx file, refused by its md5."
    from ctinv.data import load_mnist, MNIST_MD5
    f = copies(tmp_path/'srv')
    lab = f/'t10k-labels-idx1-ubyte.gz'
    raw = bytearray(gzip.decompress(lab.read_bytes())); raw[8] = (raw[8] + 1) % 10
    lab.write_bytes(gzip.compress(bytes(raw)))
    s = serve(f)
    one_line_error(lambda: load_mnist(root, 'test', mirror=s.url),
                   'MNIST test: download failed: t10k-labels-idx1-ubyte.gz:', hashlib.md5(raw).hexdigest(),
                   MNIST_MD5['t10k-labels-idx1-ubyte'], f'nothing of it was kept in {root}')
    assert list(root.iterdir()) == []

@needs_mnist
def test_interrupt_keeps_nothing(serve, tmp_path, monkeypatch):
    ("Ctrl-C's KeyboardInterrupt in the main thread halfway through the images file, raised by the transfer loop "
     "itself: a SIGINT simulated from the server's thread (`_thread.interrupt_main`) was not delivered on every run "
     "on a loaded machine.")
    import torchvision.datasets.utils as tvu
    from ctinv.data import load_mnist, DownloadInterrupted
    class CtrlC(tvu.tqdm):                                             # torchvision's progress bar, fed every chunk
        def update(self, n=1):
            super().update(n)
            if self.total and self.total > 10**6 and self.n >= self.total//2: raise KeyboardInterrupt
    monkeypatch.setattr(tvu, 'tqdm', CtrlC)
    s = serve(MNIST_DIR)
    root = tmp_path/'new'/'data'                                       # folders made for the download go too
    with pytest.raises(KeyboardInterrupt) as e: load_mnist(root, 'test', mirror=s.url)
    assert isinstance(e.value, DownloadInterrupted) and '\n' not in str(e.value), e.value
    assert 'MNIST test: download interrupted; nothing of it was kept' in str(e.value)
    assert 't10k-images-idx3-ubyte.gz' in {Path(r).name for r in s.requests}
    assert list(tmp_path.iterdir()) == []

@needs_mnist
def test_partial_root_fetches_only_the_missing(serve, root):
    "The test split there already: only the training files are requested, into the same folder."
    from ctinv.data import load_mnist
    (root/'mnist').mkdir()
    for n in NAMES['test']: shutil.copy(MNIST_DIR/f'{n}.gz', root/'mnist'/f'{n}.gz')
    s = serve(MNIST_DIR)
    assert load_mnist(root, 'train', download=True, mirror=s.url).y.bincount().tolist() == TRAIN_COUNTS
    assert {Path(r).name for r in s.requests} == {f'{n}.gz' for n in NAMES['train']}
    assert sorted(p.name for p in root.iterdir()) == ['mnist']

def test_forbidden_without_network(serve, root, tmp_path, monkeypatch):
    "`$CTINV_NO_DOWNLOAD` (even against download=True) and download=False refuse before any request."
    import torchvision
    from ctinv.data import load_mnist, load_cifar10, get_dls, download_mnist
    s = serve(tmp_path)
    monkeypatch.setenv('CTINV_MNIST_MIRROR', s.url)
    monkeypatch.setattr(torchvision.datasets.CIFAR10, 'url', s.url + 'cifar-10-python.tar.gz')
    monkeypatch.setenv('CTINV_NO_DOWNLOAD', '1')
    one_line_error(lambda: load_mnist(root, 'train'), 'MNIST train: train-images-idx3-ubyte[.gz] not found in any of',
                   'downloads are off (--no_download / $CTINV_NO_DOWNLOAD=1)', 'allow the download')
    one_line_error(lambda: load_mnist(root, 'test', download=True), 'downloads are off')
    one_line_error(lambda: get_dls('mnist', root=root), 'downloads are off')
    one_line_error(lambda: download_mnist(root), 'downloads are off')
    one_line_error(lambda: load_cifar10(root, 'test'), 'CIFAR-10 test: neither the npz copy', 'downloads are off')
    one_line_error(lambda: get_dls('cifar10', root=root, download=True), 'downloads are off')
    monkeypatch.delenv('CTINV_NO_DOWNLOAD')
    one_line_error(lambda: load_mnist(root, 'test', download=False), 'downloads are off: download=False')
    one_line_error(lambda: load_cifar10(root, 'test', download=False), 'downloads are off: download=False')
    assert s.requests == [] and list(root.iterdir()) == []

def test_cifar10_corrupt_archive(serve, root, tmp_path, monkeypatch):
    "torchvision's CIFAR10(download=True) on an archive that is not the real one: its md5 named, nothing kept."
    import torchvision
    from ctinv.data import load_cifar10
    (tmp_path/'srv').mkdir(); (tmp_path/'srv'/'cifar-10-python.tar.gz').write_bytes(b'not CIFAR-10'*1000)
    s = serve(tmp_path/'srv')
    monkeypatch.setattr(torchvision.datasets.CIFAR10, 'url', s.url + 'cifar-10-python.tar.gz')
    one_line_error(lambda: load_cifar10(root, 'test'), 'CIFAR-10: download failed:',
                   hashlib.md5(b'not CIFAR-10'*1000).hexdigest(), torchvision.datasets.CIFAR10.tgz_md5,
                   f'nothing of it was kept in {root}')
    assert s.requests and list(root.iterdir()) == []

def run(*args, env=None, timeout=180):
    return subprocess.run([str(BIN/'ctinv_train'), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env={**{k: v for k, v in os.environ.items()
                                            if k not in ('CTINV_NO_DOWNLOAD', 'CTINV_MNIST_MIRROR')},
                                         'OMP_NUM_THREADS': '1', **(env or {})})

def assert_refused(p, message:str, prog:str='ctinv_train'):
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert p.stderr.startswith(f"{prog}: error: ") and p.stderr.count("\n") == 1, p.stderr    # one line
    assert message in p.stderr, p.stderr
    assert "Traceback" not in p.stderr and p.stdout == ""

@pytest.mark.parametrize('how', ['--no_download', 'CTINV_NO_DOWNLOAD=1'])
def test_cli_no_download(serve, root, tmp_path, how):
    s = serve(root)
    flag, env = (['--no_download'], {}) if how == '--no_download' else ([], {'CTINV_NO_DOWNLOAD': '1'})
    p = run('--data', 'mnist', *flag, '--root', root, '--out', tmp_path/'out', env={'CTINV_MNIST_MIRROR': s.url, **env})
    assert_refused(p, 'MNIST train: train-images-idx3-ubyte[.gz] not found in any of')
    assert 'downloads are off (--no_download / $CTINV_NO_DOWNLOAD=1)' in p.stderr
    assert s.requests == [] and sorted(p.name for p in tmp_path.iterdir()) == ['data'] and list(root.iterdir()) == []

@needs_mnist
def test_cli_failed_download_one_line(serve, root, tmp_path):
    ("ctinv_train --data mnist, its mirror serving a corrupt labels file: "
     "the run ends with one error line, nothing kept.")
    f = copies(tmp_path/'srv', 'train')
    lab = f/'train-labels-idx1-ubyte.gz'
    raw = bytearray(gzip.decompress(lab.read_bytes())); raw[100] = (raw[100] + 1) % 10
    lab.write_bytes(gzip.compress(bytes(raw)))
    s = serve(f)
    p = run('--data', 'mnist', '--root', root, '--out', tmp_path/'out', env={'CTINV_MNIST_MIRROR': s.url})
    last = p.stderr.strip().splitlines()[-1]
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stdout == "", p.stderr
    assert (last.startswith('ctinv_train: error: MNIST train: download failed: train-labels-idx1-ubyte.gz:')
            and hashlib.md5(raw).hexdigest() in last), last
    assert sorted(p.name for p in tmp_path.iterdir()) == ['data', 'srv'] and list(root.iterdir()) == []
