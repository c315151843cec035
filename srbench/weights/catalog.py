"""Every registered model's checkpoints, addressed as `model.tag` (e.g. `srcnn.imagenet-955`)."""

from __future__ import annotations

from collections.abc import Iterable

from srbench.errors import ConfigError, WeightsError
from srbench.weights.cache import digest_matches
from srbench.weights.schema import Weights, WeightsEnum, unknown_weights, weights_enum

__all__ = ["by_digest", "checkpoints", "resolve", "select_weights", "weights_choices"]


def checkpoints(names: Iterable[str] | None = None) -> list[tuple[str, WeightsEnum]]:
    """(model, member) for every checkpoint of the named models (default: all registered).

    A broken plugin is skipped when listing everything and raises when named.
    """
    from srbench.registry import models

    found: list[tuple[str, WeightsEnum]] = []
    for name in models.names() if names is None else names:
        try:
            cls = models.get(name)
        except ConfigError:
            if names is not None:
                raise
            continue
        enum = weights_enum(cls)
        found += [(name, member) for member in enum or ()]
    return found


def resolve(refs: Iterable[str], scales: Iterable[int] | None = None) -> list[tuple[str, Weights]]:
    """The checkpoints named by `all`, `model` or `model.tag`, optionally only at `scales`.

    Raises:
        UnknownNameError: a model or tag is not known (with close matches).
    """
    refs = list(refs)
    every = checkpoints(None if "all" in refs else {r.partition(".")[0] for r in refs})
    wanted = set(scales) if scales else None
    chosen: list[tuple[str, Weights]] = []
    for ref in refs:
        model, _, tag = ref.partition(".")
        hits = [
            (m, w.meta)
            for m, w in every
            if ref == "all" or (m == model and tag in ("", w.meta.tag))
        ]
        if not hits:
            raise unknown_weights(ref, {f"{m}.{w.meta.tag}" for m, w in every})
        chosen += [h for h in hits if wanted is None or h[1].scale in wanted]
    return list(dict.fromkeys(chosen))


def weights_choices(refs: Iterable[str]) -> dict[str, str]:
    """`{model: tag}` from `--weights` values such as `srcnn.imagenet-915`, each checked."""
    choices: dict[str, str] = {}
    for ref in refs:
        model, _, tag = ref.partition(".")
        if not tag:
            raise ConfigError(
                f"--weights: {ref!r} names no checkpoint",
                hint="use model.tag, e.g. srcnn.imagenet-955",
            )
        resolve([ref])
        choices[model] = tag
    return choices


def by_digest(sha256: str) -> list[tuple[str, Weights]]:
    """Known checkpoints whose declared SHA-256 (or torch.hub prefix) matches `sha256`."""
    return [(m, w.meta) for m, w in checkpoints() if digest_matches(sha256, w.meta.sha256)]


def select_weights(name: str, cls: type, scale: int, choice: str | None) -> Weights | None:
    """The checkpoint `build_model` loads: `choice` (a tag) or the default for `scale`.

    Returns None for a weight-free model (no `weights` enum).

    Raises:
        ConfigError: `choice` is given for a weight-free model, or names no checkpoint.
        WeightsError: the model declares checkpoints, but none for `scale`.
    """
    enum = weights_enum(cls)
    if enum is None:
        if choice is not None:
            raise ConfigError(
                f"model {name!r} takes no weights, but {name}.{choice} was asked for",
                hint=f"drop the --weights entry for {name}",
            )
        return None
    member = enum.select(name, scale, choice)
    if member is None:
        have = sorted({f"x{m.meta.scale}" for m in enum})
        hint = (
            f"its checkpoints are for {', '.join(have)}; see `srbench weights list`"
            if have
            else f"none is released: train one with `srbench train --model {name}` and "
            "evaluate the model it registers"
        )
        raise WeightsError(f"model {name!r} has no known checkpoint for x{scale}", hint=hint)
    return member.meta
