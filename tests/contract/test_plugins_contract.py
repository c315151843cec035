"""Every registered model and metric honours the plugin contract (STYLE §5 rule 10)."""

from __future__ import annotations

import pytest
import torch

from srbench.errors import WeightsError
from srbench.models import supported_scales
from srbench.models.adapter import model_io, upscale
from srbench.registry import metrics, models

MODELS = [name for name in models.names() if not name.startswith("test-")]


@pytest.mark.parametrize("name", MODELS)
def test_model_contract(name: str) -> None:
    """Every architecture, freshly initialised (no weights needed): sizes, channels, finite;
    float64 SR, or the LR's own dtype from a native model."""
    cls = models.get(name)
    lr = torch.randint(0, 256, (1, 3, 13, 11), dtype=torch.uint8)
    gray = lr[:, :1]
    torch.manual_seed(0)
    for scale in supported_scales(cls) or (2, 3, 4):
        module = cls(scale=scale).eval()
        native = model_io(module).native
        for img in (lr, gray, lr.double()):
            out = upscale(module, img, scale, name=name)
            assert out.shape == (1, img.shape[1], 13 * scale, 11 * scale)
            assert out.dtype == (img.dtype if native else torch.float64)
            assert torch.isfinite(out.double()).all()


@pytest.mark.parametrize("name", [n for n in metrics.names() if not n.startswith("pyiqa")])
def test_metric_contract(name: str) -> None:
    spec = metrics.meta(name)["spec"]
    fn = metrics.get(name)
    gen = torch.Generator().manual_seed(0)
    channels = 1 if spec.space == "y255" else 3
    hr = torch.rand(2, channels, 40, 36, generator=gen, dtype=torch.float64)
    if spec.space == "y255":
        hr = hr * 255
    elif spec.space == "rgb_pm1":
        hr = hr * 2 - 1
    sr = hr.flip(-1)
    try:
        values = fn(sr, hr)
    except WeightsError as exc:  # e.g. LPIPS without its backbone in the cache
        pytest.skip(f"metric {name} is unavailable here: {exc}")
    assert values.shape == (2,)
    both = torch.stack([fn(sr[i : i + 1], hr[i : i + 1])[0] for i in range(2)])
    torch.testing.assert_close(values, both.to(values.dtype))
