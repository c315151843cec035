"""Training loss terms (registered plugins) and the loss spec language that composes them.

A spec is a sum of terms, each `[weight*]name[opt=value,...]`, e.g. `gs+0.1*dual`,
`gs[mask=topk,op=sobel]+dual`, `image+0.1*boundary+residual+l1`. A term without a weight
gets its default (`dual` and `boundary` 0.1 as in SPEC §6, every other term 1). Terms read
the model's training outputs (`sr`, and `pyramid`, `dual`, `image`, `boundary`, `residual`
where a model provides them) and the batch, all in the model's colour on [0, 1].

Which parts are whose: the GS loss's idea (a gradient-magnitude mask splitting high- and
low-frequency content) and the dual term are DRN-GS's (abstract); the GS formula below is
the best-supported reading from the same group's code (SPEC §6.1) and its variants are
srbench's options; the dual term and the supervision of every pyramid level follow DRN's
trainer; SPNet's image/boundary/residual terms and their weights are srbench's reading of
the abstract (SPEC §6.2), the residual target HR − HR_A being detached is our choice.

GS loss (SPEC §6.1, the best-supported reading of DRN-GS): central differences [1, 0, -1]
in x and y (valid, then zero-padded back to H×W; `op=sobel` uses Sobel kernels); the mask
M is the per-image min–max normalised gradient magnitude sqrt(gx² + gy² + 1e-4) of the
*target*, detached; `L = c(∂x(M⊙Ŷ), ∂x(M⊙Y)) + c(∂y(M⊙Ŷ), ∂y(M⊙Y)) + α c((1−M)⊙Ŷ, (1−M)⊙Y)`
with c the mean L1 (or MSE) and α = 1. Mask variants: `soft` (M), `sigmoid`
(sigmoid(λ(2M−1)), λ = `sharpness` = 1) and `topk` (1 on the top `keep` = 80 % of
magnitudes, else 0).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from srbench.errors import ConfigError, UnknownNameError
from srbench.registry import losses, register_loss
from srbench.train.data import Batch
from srbench.train.options import coerce, keyword_params

__all__ = [
    "CompositeLoss",
    "LossTerm",
    "gradients",
    "gs_loss",
    "gs_mask",
    "parse_loss",
    "split_specs",
]

Outputs = Mapping[str, Tensor | list[Tensor]]
Criterion = Literal["l1", "mse"]
_SOBEL = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])


def _criterion(name: str, pred: Tensor, target: Tensor) -> Tensor:
    return F.l1_loss(pred, target) if name == "l1" else F.mse_loss(pred, target)


def gradients(img: Tensor, op: Literal["central", "sobel"] = "central") -> tuple[Tensor, Tensor]:
    """(∂x, ∂y) of (N, C, H, W) per channel: valid differences zero-padded back to H×W."""
    if op == "central":
        gx = F.pad(img[..., :, 2:] - img[..., :, :-2], (1, 1, 0, 0))
        gy = F.pad(img[..., 2:, :] - img[..., :-2, :], (0, 0, 1, 1))
        return gx, gy
    c = img.shape[1]
    kx = _SOBEL.to(img).expand(c, 1, 3, 3)
    ky = _SOBEL.t().to(img).expand(c, 1, 3, 3)
    gx = F.pad(F.conv2d(img, kx, groups=c), (1, 1, 1, 1))
    gy = F.pad(F.conv2d(img, ky, groups=c), (1, 1, 1, 1))
    return gx, gy


def gs_mask(
    target: Tensor,
    *,
    mask: Literal["soft", "sigmoid", "topk"] = "soft",
    op: Literal["central", "sobel"] = "central",
    sharpness: float = 1.0,
    keep: float = 0.8,
) -> Tensor:
    """The GS mask of a target (N, C, H, W) in [0, 1], computed without gradient."""
    with torch.no_grad():
        gx, gy = gradients(target, op)
        mag = torch.sqrt(gx.square() + gy.square() + 1e-4).flatten(1)
        if mask == "topk":
            k = max(1, round((1.0 - keep) * mag.shape[1]))
            threshold = mag.kthvalue(k, dim=1, keepdim=True).values
            m = (mag >= threshold).to(target.dtype) if keep < 1 else torch.ones_like(mag)
        else:
            low = mag.min(dim=1, keepdim=True).values
            span = mag.max(dim=1, keepdim=True).values - low
            m = (mag - low) / span.clamp_min(1e-12)
            if mask == "sigmoid":
                m = torch.sigmoid(sharpness * (2.0 * m - 1.0))
    return m.view_as(target)


def gs_loss(
    pred: Tensor,
    target: Tensor,
    *,
    mask: Literal["soft", "sigmoid", "topk"] = "soft",
    op: Literal["central", "sobel"] = "central",
    criterion: Criterion = "l1",
    alpha: float = 1.0,
    sharpness: float = 1.0,
    keep: float = 0.8,
) -> Tensor:
    """Gradient-sensitive loss of `pred` against `target` (see the module docstring)."""
    m = gs_mask(target, mask=mask, op=op, sharpness=sharpness, keep=keep)
    px, py = gradients(m * pred, op)
    tx, ty = gradients(m * target, op)
    low = _criterion(criterion, (1 - m) * pred, (1 - m) * target)
    return _criterion(criterion, px, tx) + _criterion(criterion, py, ty) + alpha * low


class LossTerm:
    """One loss term; subclasses register with `@register_loss` and take keyword options."""

    default_weight = 1.0
    needs: tuple[str, ...] = ("sr",)  # model training outputs the term reads
    uses_boundary = False  # the batch must carry boundary maps

    def __call__(self, out: Outputs, batch: Batch) -> Tensor:
        raise NotImplementedError


class _PixelTerm(LossTerm):
    """Compares `sr` with HR; with `levels=all`, every `pyramid` output with its target."""

    def __init__(self, *, levels: Literal["all", "final"] = "all") -> None:
        self.levels = levels

    def compare(self, pred: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError

    def __call__(self, out: Outputs, batch: Batch) -> Tensor:
        preds = out["pyramid"] if self.levels == "all" and "pyramid" in out else [out["sr"]]
        return sum(self.compare(p, batch.target(tuple(p.shape[-2:]))) for p in preds)  # type: ignore[return-value]


@register_loss("l1")
class L1(_PixelTerm):
    """Mean absolute error on SR (and on every pyramid level of multi-scale models)."""

    def compare(self, pred: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(pred, target)


@register_loss("mse")
class MSE(_PixelTerm):
    """Mean squared error on SR (and on every pyramid level of multi-scale models)."""

    def compare(self, pred: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(pred, target)


@register_loss("gs")
class GS(_PixelTerm):
    """Gradient-sensitive loss (DRN-GS): gradient-mask-weighted edges + (1−M)-weighted pixels."""

    def __init__(
        self,
        *,
        mask: Literal["soft", "sigmoid", "topk"] = "soft",
        op: Literal["central", "sobel"] = "central",
        criterion: Criterion = "l1",
        alpha: float = 1.0,
        sharpness: float = 1.0,
        keep: float = 0.8,
        levels: Literal["all", "final"] = "all",
    ) -> None:
        super().__init__(levels=levels)
        if not 0.0 < keep <= 1.0:
            raise ConfigError(f"gs: keep={keep} is outside (0, 1]", hint="e.g. keep=0.8")
        self.options = dict(
            mask=mask, op=op, criterion=criterion, alpha=alpha, sharpness=sharpness, keep=keep
        )

    def compare(self, pred: Tensor, target: Tensor) -> Tensor:
        return gs_loss(pred, target, **self.options)  # type: ignore[arg-type]


@register_loss("dual")
class Dual(LossTerm):
    """Dual reconstruction (DRN): |D(P(x)) − LR| at every ×2 step; default weight 0.1."""

    default_weight = 0.1
    needs = ("dual",)

    def __init__(self, *, criterion: Criterion = "l1") -> None:
        self.criterion = criterion

    def __call__(self, out: Outputs, batch: Batch) -> Tensor:
        return sum(  # type: ignore[return-value]
            _criterion(self.criterion, d, batch.target(tuple(d.shape[-2:]))) for d in out["dual"]
        )


@register_loss("image")
class Image(LossTerm):
    """SPNet image term: L1 (or MSE) of branch A's HR image against HR."""

    needs = ("image",)

    def __init__(self, *, criterion: Criterion = "l1") -> None:
        self.criterion = criterion

    def __call__(self, out: Outputs, batch: Batch) -> Tensor:
        return _criterion(self.criterion, out["image"], batch.hr)  # type: ignore[arg-type]


@register_loss("boundary")
class Boundary(LossTerm):
    """SPNet boundary term: BCE of the boundary logits against HR edge maps; weight 0.1."""

    default_weight = 0.1
    needs = ("boundary",)
    uses_boundary = True

    def __call__(self, out: Outputs, batch: Batch) -> Tensor:
        return F.binary_cross_entropy_with_logits(out["boundary"], batch.boundary)  # type: ignore[arg-type]


@register_loss("residual")
class Residual(LossTerm):
    """SPNet residual term: L1 (or MSE) of the residual branch against HR − HR_A (detached)."""

    needs = ("residual", "image")

    def __init__(self, *, criterion: Criterion = "l1") -> None:
        self.criterion = criterion

    def __call__(self, out: Outputs, batch: Batch) -> Tensor:
        target = batch.hr - out["image"].detach()  # type: ignore[union-attr]
        return _criterion(self.criterion, out["residual"], target)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class WeightedTerm:
    """A parsed term: as written, its registered name, its weight and the bound instance."""

    text: str
    name: str
    weight: float
    term: Any


class CompositeLoss:
    """The weighted sum of a spec's terms; returns the total and each term's value."""

    def __init__(self, spec: str, terms: list[WeightedTerm]) -> None:
        self.spec = spec
        self.terms = terms

    @property
    def needs(self) -> set[str]:
        """Model training outputs some term reads."""
        return {key for t in self.terms for key in getattr(t.term, "needs", ("sr",))}

    @property
    def uses_boundary(self) -> bool:
        """Whether batches must carry boundary ground truth."""
        return any(getattr(t.term, "uses_boundary", False) for t in self.terms)

    def check_outputs(self, provided: set[str], model: str) -> None:
        """Refuse a spec whose terms read outputs the model does not produce."""
        for t in self.terms:
            missing = sorted(set(getattr(t.term, "needs", ("sr",))) - provided)
            if missing:
                raise ConfigError(
                    f"loss term {t.name!r} needs the model output(s) {', '.join(missing)}, "
                    f"which {model!r} does not produce (it gives {', '.join(sorted(provided))})",
                    hint="pixel terms (l1, mse, gs) work with every model; see SPEC §6",
                )

    def __call__(self, out: Outputs, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        """(weighted total, {term text: unweighted value}) for one batch."""
        parts = {t.text: t.term(out, batch) for t in self.terms}
        total = sum(t.weight * parts[t.text] for t in self.terms)
        return total, {k: float(v.detach()) for k, v in parts.items()}  # type: ignore[return-value]


_TERM = re.compile(
    r"\s*(?:(?P<weight>[^*\[\]]*?)\s*\*\s*)?(?P<name>[^*\[\]\s]*)\s*(?:\[(?P<opts>[^\[\]]*)\])?\s*"
)
_EXPONENT = re.compile(r"(?:^|[+*\[,=\s])[0-9]*\.?[0-9]+[eE]$")


def _spec_error(spec: str, start: int, length: int, message: str, hint: str = "") -> ConfigError:
    caret = " " * start + "^" * max(1, length)
    return ConfigError(f"loss spec {spec!r}: {message}\n    {spec}\n    {caret}", hint=hint)


def _split(text: str, sep: str) -> list[tuple[str, int]]:
    """Split at `sep` outside brackets (and not inside a number's exponent), with offsets."""
    depth, start, parts = 0, 0, []
    for i, ch in enumerate(text):
        depth += (ch == "[") - (ch == "]")
        if ch == sep and depth == 0 and not (sep == "+" and _EXPONENT.search(text[:i])):
            parts.append((text[start:i], start))
            start = i + 1
    parts.append((text[start:], start))
    return parts


def split_specs(text: str) -> list[str]:
    """Split a comma-separated list of loss specs, e.g. `l1,gs[mask=topk,op=sobel]+dual`."""
    return [part.strip() for part, _ in _split(text, ",") if part.strip()]


def _bind(cls: Any, name: str, opts: str | None, spec: str, start: int, length: int) -> Any:
    """Instantiate term class `cls` with the `key=value` options of its token."""
    params = keyword_params(cls)
    kwargs: dict[str, Any] = {}
    for item in (opts or "").split(","):
        if not item.strip():
            continue
        key, eq, raw = (s.strip() for s in item.partition("="))
        if not eq or key not in params:
            takes = ", ".join(sorted(params)) or "no options"
            raise _spec_error(
                spec,
                start,
                length,
                f"term {name!r} has no option {item.strip()!r}",
                hint=f"{name} takes {takes}, written as {name}[key=value,...]",
            )
        try:
            kwargs[key] = coerce(params[key], raw)
        except ValueError as exc:
            raise _spec_error(
                spec, start, length, f"bad value {raw!r} for {name}[{key}]: {exc}"
            ) from None
    return cls(**kwargs)


def parse_loss(spec: str) -> CompositeLoss:
    """Parse a spec such as `gs+0.1*dual` into a `CompositeLoss`; errors point at the token."""
    terms = []
    for token, start in _split(spec, "+"):
        match = _TERM.fullmatch(token)
        if match is None or not match["name"]:
            raise _spec_error(
                spec,
                start,
                len(token),
                f"cannot read the term {token.strip()!r}",
                hint="write terms as [weight*]name[key=value,...] joined by +, e.g. gs+0.1*dual",
            )
        name, raw_weight = match["name"], match["weight"]
        at = start + match.start("name")
        try:
            cls = losses.get(name)
        except UnknownNameError as exc:
            message = str(exc).splitlines()[0]
            hint = "see `srbench list losses` for all of them"
            raise _spec_error(spec, at, len(name), message, hint) from None
        weight = getattr(cls, "default_weight", 1.0)
        if raw_weight is not None:
            try:
                weight = float(raw_weight)
            except ValueError:
                weight = math.nan
            if not (math.isfinite(weight) and weight > 0):
                raise _spec_error(
                    spec,
                    start + match.start("weight"),
                    len(raw_weight),
                    f"bad weight {raw_weight!r} for term {name!r}",
                    hint="a weight is a positive finite number, e.g. 0.1*dual",
                )
        term = _bind(cls, name, match["opts"], spec, start, len(token))
        terms.append(WeightedTerm(token.strip(), name, weight, term))
    return CompositeLoss(spec.strip(), terms)
