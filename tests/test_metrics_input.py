"Bad input to `ctinv.metrics` is refused before any work, with a one-line ValueError saying what was wrong."
import math, os
import pytest, torch
from ctinv.metrics import (RANGE_TOL, psnr, ssim, ssim_torchmetrics, ssim_window, lpips_model, lpips_distance,
                           recon_metrics, Classifier, classifier_features, edit_accuracy, classifier_metrics,
                           frechet_distance, precision_recall, latent_stats, inception_metrics, inception_weights,
                           FID_INCEPTION_WEIGHTS)

torch.set_num_threads(1)
G = torch.Generator().manual_seed(0)
X = torch.rand(4, 1, 28, 28, generator=G)*2 - 1

@pytest.fixture(scope='module')
def lpips_rand(): return lpips_model('alex', pnet_rand=True)   # random backbone: code paths only

@pytest.fixture(scope='module')
def clf(): return Classifier(1, 10, widths=(4, 8, 8)).eval()   # untrained: the checks run before it is used

PAIR_METRICS = {'psnr': lambda a, b, lp: psnr(a, b), 'ssim': lambda a, b, lp: ssim(a, b),
                'ssim_torchmetrics': lambda a, b, lp: ssim_torchmetrics(a, b),
                'lpips': lambda a, b, lp: lpips_distance(a, b, model=lp),
                'recon_metrics': lambda a, b, lp: recon_metrics(a, b, lpips_net=None)}

def _nan(x):
    x = x.clone(); x[1, 0, 2, 5] = float('nan'); return x

BAD_PAIRS = {  # name: (x, y, words the message must contain)
    'x above range': (X*1.5, X, 'x must lie in [-1, 1] (tolerance 0.001)'),
    'y in [0, 255]': (X, (X + 1)*127.5, 'y must lie in [-1, 1]'),
    'x just beyond the tolerance': (X.sign()*(1 + 2*RANGE_TOL), X, 'x must lie in [-1, 1]'),
    'NaN': (_nan(X), X, 'x contains 1 NaN or infinite values'),
    'inf in y': (X, X.masked_fill(X > 0.99, float('inf')), 'y contains'),
    'shapes differ': (X, X[:2], 'equal shape, got (4, 1, 28, 28) and (2, 1, 28, 28)'),
    'channels differ': (X, X.expand(-1, 3, -1, -1), 'equal shape'),
    'empty batch': (X[:0], X[:0], 'x is empty (shape (0, 1, 28, 28))'),
    'not a batch': (X[0], X[0], 'must be a batch (N, C, H, W), got shape (1, 28, 28)'),
    'uint8': (((X + 1)*127.5).byte(), X, 'dtype torch.uint8'),
    'numpy': (X.numpy(), X, 'must be a torch.Tensor'),
}

@pytest.mark.parametrize('metric', list(PAIR_METRICS))
@pytest.mark.parametrize('case', list(BAD_PAIRS))
def test_bad_pairs_refused(metric, case, lpips_rand):
    x, y, words = BAD_PAIRS[case]
    with pytest.raises(ValueError, match=None) as e: PAIR_METRICS[metric](x, y, lpips_rand)
    assert words in str(e.value) and '\n' not in str(e.value), str(e.value)

@pytest.mark.parametrize('metric', list(PAIR_METRICS))
def test_round_off_within_tolerance_accepted(metric, lpips_rand):
    out = PAIR_METRICS[metric](X.sign()*(1 + 0.5*RANGE_TOL), X, lpips_rand)
    assert out is not None

@pytest.mark.parametrize('fn',
                         [lambda: psnr(X, X, 'sum'), lambda: ssim(X, X, 'sum'), lambda: ssim_torchmetrics(X, X, 'sum')])
def test_reduction_checked(fn):
    with pytest.raises(ValueError, match="reduction must be 'none' \\(per image\\) or 'mean', got 'sum'"): fn()

def test_ssim_window_and_sigma():
    assert ssim_window(28, 28) == (11, 1.5) and ssim_window(8, 8)[0] == 7 and math.isclose(ssim_window(8, 8)[1], 0.9)
    with pytest.raises(ValueError, match='at least 3 x 3 pixels, got 2 x 8'): ssim(X[:, :, :2, :8], X[:, :, :2, :8])
    for s in (0, -1., float('nan'), float('inf')):
        with pytest.raises(ValueError, match='sigma must be a positive number'): ssim(X, X, sigma=s)
    with pytest.raises(ValueError, match='bs'): ssim(X, X, bs=0)

def test_lpips_checks(lpips_rand):
    with pytest.raises(ValueError, match='bs \\(images per pass\\) must be a positive integer'):
        lpips_distance(X, X, model=lpips_rand, bs=0)
    with pytest.raises(ValueError, match='LPIPS needs 1 or 3 channels, got 2'):
        lpips_distance(X.expand(-1, 2, -1, -1), X.expand(-1, 2, -1, -1), model=lpips_rand)

def test_classifier_inputs(clf):
    y = torch.arange(4)
    with pytest.raises(ValueError, match='images must lie in'): classifier_features(clf, X*2)
    with pytest.raises(ValueError, match='images contains 3136 NaN'): classifier_features(clf, X*float('nan'))
    with pytest.raises(ValueError, match='bs'): classifier_features(clf, X, bs=-1)
    with pytest.raises(ValueError, match='4 images but 3 target labels'): edit_accuracy(clf, X, y[:3])
    with pytest.raises(ValueError, match='integers'): edit_accuracy(clf, X, y.float())
    with pytest.raises(ValueError, match='class ids in \\[0, 10\\), got -1..2'): edit_accuracy(clf, X, y - 1)
    with pytest.raises(ValueError, match='class ids in \\[0, 10\\), got 10..13'): edit_accuracy(clf, X, y + 10)
    with pytest.raises(ValueError, match='images is empty'): edit_accuracy(clf, X[:0], y[:0])
    with pytest.raises(ValueError, match='fake must lie'): classifier_metrics(clf, X, X*3)
    with pytest.raises(ValueError, match='differ in \\(C, H, W\\)'): classifier_metrics(clf, X, X[:, :, :14])
    with pytest.raises(ValueError, match='0 < k < the size of both sets \\(4 real, 3 generated\\), got k=3'):
        classifier_metrics(clf, X, X[:3])
    with torch.no_grad(): pred = clf(X).argmax(1)
    assert edit_accuracy(clf, X, pred) == 1.0 and edit_accuracy(clf, X, (pred + 1) % 10) == 0.0  # valid calls still run

def test_feature_metrics():
    f = torch.randn(30, 5, generator=G)
    for k in (0, 30, 31, -1, 2.5, None):
        with pytest.raises(ValueError, match=f'got k={k!r}'): precision_recall(f, f, k=k)
    with pytest.raises(ValueError, match='got k=3'): precision_recall(f, f[:3], k=3)
    with pytest.raises(ValueError, match='feature widths differ: \\(30, 5\\) and \\(30, 4\\)'):
        precision_recall(f, f[:, :4])
    with pytest.raises(ValueError, match='NaN or infinite'): precision_recall(f, f*float('nan'))
    with pytest.raises(ValueError, match='N >= 2, got \\(1, 5\\)'): frechet_distance(f, f[:1])
    with pytest.raises(ValueError, match='N >= 1, got \\(0, 5\\)'): precision_recall(f[:0], f)
    with pytest.raises(ValueError, match='feature matrix \\(N, D\\)'): frechet_distance(f[None], f)
    with pytest.raises(ValueError, match='150 NaN or infinite'): frechet_distance(f, f*float('nan'))
    assert frechet_distance(f, f) == pytest.approx(0., abs=1e-8)

def test_latent_stats_inputs():
    z = 80*torch.randn(8, 1, 8, 8, generator=G)
    for bad, words in [(z[:1], 'N >= 2'), (z.flatten(1), '(N, C, H, W)'), (z.numpy(), 'ndarray'),
                       (z.masked_fill(z > 100, float('nan')), 'NaN or infinite')]:
        with pytest.raises(ValueError) as e: latent_stats(bad)
        assert words in str(e.value)
    for kw, words in [(dict(T=0.), 'T must be a positive number'), (dict(T=float('nan')), 'T must be'),
                      (dict(n_ks=0), 'n_ks must be a positive integer'), (dict(low=0.), 'low must be in'),
                      (dict(low=0.9), 'low must be in')]:
        with pytest.raises(ValueError, match=words): latent_stats(z, **kw)
    with pytest.raises(ValueError, match='T must be a positive number'): latent_stats(z, T='80')
    assert latent_stats(z, T=torch.tensor(80.)) == latent_stats(z, T=80.)   # a 0-d tensor is a number

def test_inception_errors(tmp_path, monkeypatch):
    monkeypatch.delenv('CTINV_INCEPTION_WEIGHTS', raising=False); monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    with pytest.raises(FileNotFoundError) as e: inception_metrics(X, X)
    m = str(e.value)
    assert FID_INCEPTION_WEIGHTS in m and 'CTINV_INCEPTION_WEIGHTS' in m and 'weights_path=' in m and str(tmp_path) in m
    monkeypatch.setenv('CTINV_INCEPTION_WEIGHTS', str(tmp_path/'w.pth'))
    with pytest.raises(FileNotFoundError, match='from \\$CTINV_INCEPTION_WEIGHTS'): inception_metrics(X, X)
    with pytest.raises(ValueError, match='real must lie in'): inception_metrics(X*2, X)      # images checked first
    with pytest.raises(ValueError, match='1 or 3 channels'):
        inception_metrics(X.expand(-1, 2, -1, -1), X.expand(-1, 2, -1, -1))
    with pytest.raises(ValueError, match='at least 2 images'): inception_metrics(X[:1], X[:1])
    (tmp_path/'w.pth').write_bytes(b'')
    assert inception_weights() == tmp_path/'w.pth'
    import importlib.util
    if importlib.util.find_spec('torch_fidelity') is None:
        with pytest.raises(ImportError, match='pip install torch-fidelity'): inception_metrics(X, X)
