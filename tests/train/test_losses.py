"""Loss terms on hand-made tensors, and the loss spec language's parsing and errors."""

from __future__ import annotations

import pytest
import torch

from srbench.errors import ConfigError
from srbench.registry import losses
from srbench.train.data import Batch
from srbench.train.losses import gradients, gs_loss, gs_mask, parse_loss, split_specs


def _step_edge(h: int = 6, w: int = 8, col: int = 4) -> torch.Tensor:
    """(1, 1, h, w): 0 left of `col`, 1 from `col` on: a vertical step edge."""
    img = torch.zeros(1, 1, h, w)
    img[..., col:] = 1.0
    return img


def _batch(hr: torch.Tensor, scale: int = 2) -> Batch:
    lr = hr[..., ::scale, ::scale]
    return Batch(lr, hr, lr, scale)


def test_central_differences_are_zero_padded_valid_differences() -> None:
    ramp = torch.arange(5.0).view(1, 1, 1, 5).expand(1, 1, 3, 5)
    gx, gy = gradients(ramp)
    assert gx[0, 0, 1].tolist() == [0.0, 2.0, 2.0, 2.0, 0.0]
    assert (gy == 0).all()


def test_sobel_differs_from_central_and_is_zero_padded() -> None:
    gx, _ = gradients(_step_edge(), "sobel")
    assert gx.shape == (1, 1, 6, 8)
    assert (gx[..., 0, :] == 0).all() and (gx[..., :, 0] == 0).all()
    assert gx[0, 0, 2, 3].abs() == 4.0  # 1 + 2 + 1 across the edge


def test_soft_mask_of_a_step_edge_is_one_at_the_edge_and_zero_elsewhere() -> None:
    mask = gs_mask(_step_edge())
    expected = torch.zeros(1, 1, 6, 8)
    expected[..., 3:5] = 1.0  # the two columns whose central difference straddles the edge
    torch.testing.assert_close(mask, expected)


def test_topk_mask_keeps_the_strongest_fraction() -> None:
    target = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    mask = gs_mask(target, mask="topk", keep=0.8)
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    kept = mask.flatten(1).mean(1)
    assert torch.allclose(kept, torch.full((2,), 0.8), atol=0.01)


def test_sigmoid_mask_is_the_squashed_soft_mask() -> None:
    soft = gs_mask(_step_edge())
    sig = gs_mask(_step_edge(), mask="sigmoid", sharpness=3.0)
    torch.testing.assert_close(sig, torch.sigmoid(3.0 * (2 * soft - 1)))


def test_flat_target_gives_an_all_zero_mask() -> None:
    assert (gs_mask(torch.full((1, 3, 5, 5), 0.4)) == 0).all()


@pytest.mark.parametrize(
    "options",
    [{}, {"mask": "sigmoid"}, {"mask": "topk"}, {"op": "sobel"}, {"criterion": "mse"}],
)
def test_gs_loss_is_zero_on_identical_inputs_and_positive_otherwise(options: dict) -> None:
    target = torch.rand(2, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    assert gs_loss(target, target, **options) == 0
    assert gs_loss(target.flip(-1), target, **options) > 0


def test_gradient_reaches_the_prediction_but_not_through_the_mask() -> None:
    target = torch.rand(1, 1, 10, 10, requires_grad=True)
    pred = torch.rand(1, 1, 10, 10, requires_grad=True)
    assert not gs_mask(target).requires_grad
    gs_loss(pred, target).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    # with the mask fixed, the loss is linear-in-|.| in pred: the same mask from a detached
    # target must give the same gradient
    pred2 = pred.detach().clone().requires_grad_()
    gs_loss(pred2, target.detach()).backward()
    torch.testing.assert_close(pred.grad, pred2.grad)


def test_gs_alpha_weights_the_low_frequency_term() -> None:
    target = _step_edge()
    pred = target + 0.1
    low = (0.1 * (1 - gs_mask(target))).mean().item()  # mean |(1-M)(pred - target)|
    extra = gs_loss(pred, target, alpha=3.0) - gs_loss(pred, target, alpha=1.0)
    assert extra.item() == pytest.approx(2 * low)


def test_every_term_is_zero_when_outputs_match_their_targets() -> None:
    hr = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    batch = _batch(hr)
    out = {
        "sr": hr,
        "pyramid": [batch.target((4, 4)), hr],
        "dual": [batch.lr],
        "image": hr,
        "residual": torch.zeros_like(hr),
    }
    for spec in ("l1", "mse", "gs", "dual", "image", "residual", "gs+dual+image+residual"):
        total, parts = parse_loss(spec)(out, batch)
        assert total.item() == pytest.approx(0.0, abs=1e-7), spec
        assert set(parts) == set(spec.split("+"))


def test_pixel_terms_supervise_every_pyramid_level_unless_final() -> None:
    hr = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    batch = _batch(hr)
    wrong_coarse = [torch.zeros(1, 3, 4, 4), hr]
    out = {"sr": hr, "pyramid": wrong_coarse}
    assert parse_loss("l1")(out, batch)[0] > 0
    assert parse_loss("l1[levels=final]")(out, batch)[0] == 0


def test_residual_target_is_hr_minus_the_detached_image() -> None:
    hr = torch.ones(1, 1, 4, 4)
    image = torch.full((1, 1, 4, 4), 0.25, requires_grad=True)
    residual = torch.full((1, 1, 4, 4), 0.75, requires_grad=True)
    total, _ = parse_loss("residual")({"image": image, "residual": residual}, _batch(hr))
    total.backward()
    assert total == 0 and image.grad is None


def test_boundary_term_is_bce_with_logits() -> None:
    hr = torch.zeros(1, 1, 4, 4)
    batch = Batch(hr, hr, hr, 2, boundary=torch.ones(1, 1, 4, 4))
    total, _ = parse_loss("boundary")({"boundary": torch.zeros(1, 1, 4, 4)}, batch)
    assert total.item() == pytest.approx(0.1 * torch.log(torch.tensor(2.0)).item())


def test_default_and_explicit_weights() -> None:
    loss = parse_loss("gs + dual + 0.5*boundary + 1e-3*l1 + 2E+1*mse")
    assert [(t.name, t.weight) for t in loss.terms] == [
        ("gs", 1.0),
        ("dual", 0.1),
        ("boundary", 0.5),
        ("l1", 0.001),
        ("mse", 20.0),
    ]
    assert loss.uses_boundary and loss.needs == {"sr", "dual", "boundary"}


def test_options_are_typed() -> None:
    term = parse_loss("gs[mask=topk, op=sobel, alpha=0.5, keep=0.9]").terms[0].term
    assert term.options == {
        "mask": "topk",
        "op": "sobel",
        "criterion": "l1",
        "alpha": 0.5,
        "sharpness": 1.0,
        "keep": 0.9,
    }


def test_split_specs_respects_brackets() -> None:
    assert split_specs("l1, gs[mask=topk,op=sobel]+dual,gs") == [
        "l1",
        "gs[mask=topk,op=sobel]+dual",
        "gs",
    ]


@pytest.mark.parametrize(
    ("spec", "message", "caret"),
    [
        ("gs+0.1*dula", r"no loss named 'dula'\. Did you mean 'dual'", "       ^^^^"),
        ("abc*dual", r"bad weight 'abc' for term 'dual'", "^^^"),
        ("gs+-1*dual", r"bad weight '-1'", "   ^^"),
        ("0*l1", r"bad weight '0'", "^"),
        ("nan*l1", r"bad weight 'nan'", "^^^"),
        ("l1++dual", r"cannot read the term ''", "   ^"),
        ("l1+gs[mask=hard]", r"bad value 'hard' for gs\[mask\]: choose from soft", "   ^^^"),
        ("gs[foo=1]", r"term 'gs' has no option 'foo=1'", "^^^^^^^^^"),
        ("dual[alpha=nan]", r"term 'dual' has no option 'alpha=nan'", "^"),
        ("gs[keep=2]", r"gs: keep=2\.0 is outside", None),
    ],
)
def test_bad_specs_point_at_the_token(spec: str, message: str, caret: str | None) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_loss(spec)
    if caret is not None:
        lines = str(info.value).splitlines()
        assert lines[1].strip() == spec
        assert lines[2].startswith("    " + caret)


def test_unknown_term_hint_names_the_listing_command() -> None:
    with pytest.raises(ConfigError) as info:
        parse_loss("dula")
    assert info.value.hint == "see `srbench list losses` for all of them"


def test_terms_needing_missing_outputs_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"'dual' needs the model output\(s\) dual.*'spnet'"):
        parse_loss("l1+dual").check_outputs({"sr", "image", "boundary"}, "spnet")


def test_all_documented_terms_are_registered() -> None:
    names = set(losses.names())
    assert {"l1", "mse", "gs", "dual", "image", "boundary", "residual"} <= names
