"""Every registered model's weights enum is well-formed (torchvision's schema test, adapted).

Runs offline over the declarations only; the file-dependent checks are in tests/golden/.
"""

from __future__ import annotations

import re

import pytest
import torch

from srbench.errors import ConfigError, UnknownNameError
from srbench.models import supported_scales
from srbench.registry import datasets, metrics, models, protocols
from srbench.report.tables import load_published
from srbench.weights import Published, Weights, WeightsEnum, weights_enum
from srbench.weights.schema import MEMBER_RE, SHA256_PREFIX_RE, SHA256_RE

# Models without a weights enum, with the reason. A model with released-nothing declares
# an empty enum whose docstring says why (the runner then skips it instead of scoring
# random weights).
WEIGHT_FREE = {"bicubic": "parameter-free"}
# The only checkpoints whose full SHA-256 is unknown (torch.hub name suffix only).
PREFIX_ONLY = {("edsr", "div2k")}
DATASET_NAMES = {"Set5", "Set14", "B100", "Urban100"}


def _installed() -> list[str]:
    """Models that come with srbench or an installed plugin (built-in table or entry point),
    not those other tests register at run time."""
    return [e.name for e in models.entries() if e.target is not None and e.error is None]


def _enums() -> list[tuple[str, type[WeightsEnum]]]:
    found = []
    for name in _installed():
        enum = weights_enum(models.get(name))
        if enum is not None:
            found.append((name, enum))
    return found


def test_schema_of_every_weights_enum() -> None:
    problems: list[str] = []
    known_protocols = set(protocols.names())
    known_metrics = set(metrics.names())
    for name, enum in _enums():
        cls = models.get(name)
        scales = supported_scales(cls) or (2, 3, 4)
        for member in enum:
            w, where = member.meta, f"{name}.{member.name}"
            if not MEMBER_RE.fullmatch(member.name):
                problems.append(f"{where}: member name is not <TAG>_X<scale> in upper case")
            if member.name != f"{w.tag.upper().replace('-', '_')}_X{w.scale}":
                problems.append(f"{where}: member name does not match tag {w.tag!r} x{w.scale}")
            if not SHA256_RE.fullmatch(w.sha256) and (name, w.tag) not in PREFIX_ONLY:
                problems.append(f"{where}: sha256 is not 64 hex digits: {w.sha256!r}")
            if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", w.tag):
                problems.append(f"{where}: tag {w.tag!r} is not kebab-case")
            if w.scale not in scales:
                problems.append(f"{where}: scale {w.scale} is not one of {scales}")
            if not (w.origin and w.license):
                problems.append(f"{where}: origin and license must be filled in")
            if w.published is not None:
                if w.published.protocol.partition("@")[0] not in known_protocols:
                    problems.append(f"{where}: unknown protocol {w.published.protocol}")
                for dataset, metric in w.published.values:
                    if dataset not in DATASET_NAMES or metric not in known_metrics:
                        problems.append(f"{where}: unknown cell ({dataset}, {metric})")
            with torch.device("meta"):
                model = cls(scale=w.scale, **w.options)
            count = sum(p.numel() for p in model.parameters())
            if count != w.num_params:
                problems.append(f"{where}: num_params {w.num_params:,} but the model has {count:,}")
        if not list(enum):
            if enum.__doc__ in (None, WeightsEnum.__doc__):
                problems.append(f"{name}: empty {enum.__name__} without a docstring saying why")
            continue
        for scale in scales:
            if enum.default(scale) is None:
                problems.append(f"{name}: no default checkpoint for x{scale}")
    for name in _installed():
        if name in WEIGHT_FREE:
            continue
        if weights_enum(models.get(name)) is None:
            problems.append(f"{name}: no weights enum and not documented as weight-free")
    assert not problems, "\n".join(problems)


def test_the_prefix_only_exception_really_is_a_prefix() -> None:
    for name, enum in _enums():
        for member in enum:
            if (name, member.meta.tag) in PREFIX_ONLY:
                assert SHA256_PREFIX_RE.fullmatch(member.meta.sha256)
                assert member.meta.sha256_is_prefix
                assert member.meta.sha256 in member.meta.filename  # the torch.hub suffix


def test_published_numbers_agree_with_the_reference_csv() -> None:
    """A number is typed twice (checkpoint and CSV), so the two must agree exactly."""
    table = load_published()
    problems = []
    cells = 0
    for name, enum in _enums():
        for member in enum:
            w, pub = member.meta, member.meta.published
            if pub is None:
                continue
            for (dataset, metric), value in pub.values.items():
                cells += 1
                rows = table[
                    (table["method"] == name)
                    & table["weights_tag"].isin([w.tag, ""])
                    & (table["dataset"] == dataset)
                    & (table["scale"] == w.scale)
                    & (table["metric"] == metric)
                    & (table["protocol"] == pub.protocol)
                ]
                where = f"{name}.{w.tag} x{w.scale} {dataset} {metric} [{pub.protocol}]"
                if len(rows) != 1:
                    problems.append(f"{where}: {len(rows)} rows in published.csv")
                elif rows.iloc[0]["value"] != value or rows.iloc[0]["source"] != pub.source:
                    problems.append(f"{where}: {value} ({pub.source}) vs {rows.iloc[0].to_dict()}")
    assert cells >= 48 and not problems, "\n".join(problems)


def test_every_dataset_of_a_published_cell_is_registered() -> None:
    assert {d.lower() for d in DATASET_NAMES} <= set(datasets.names())


def test_the_default_is_the_first_member_for_a_scale() -> None:
    from baselines.srcnn import SRCNNWeights

    assert SRCNNWeights.default(3) is SRCNNWeights.IMAGENET_955_X3
    assert SRCNNWeights.select("srcnn", 3, "imagenet-915") is SRCNNWeights.IMAGENET_915_X3
    assert SRCNNWeights.select("srcnn", 3, "IMAGENET_935_X3") is SRCNNWeights.IMAGENET_935_X3


def test_an_unknown_tag_suggests_close_ones() -> None:
    from baselines.srcnn import SRCNNWeights

    with pytest.raises(UnknownNameError, match=r"srcnn\.imagenet-95'.*'srcnn\.imagenet-955'"):
        SRCNNWeights.select("srcnn", 2, "imagenet-95")


def test_a_tag_without_the_scale_says_which_scales_exist() -> None:
    from baselines.srcnn import SRCNNWeights

    with pytest.raises(ConfigError, match=r"srcnn\.imagenet-915 have no checkpoint for x2"):
        SRCNNWeights.select("srcnn", 2, "imagenet-915")


def _weights(**changes: object) -> Weights:
    fields: dict[str, object] = {
        "tag": "demo",
        "scale": 2,
        "urls": ("https://example.org/demo.pt",),
        "sha256": "0" * 64,
        "format": "state_dict",
        "num_params": 1,
        "origin": "here",
        "license": "MIT",
    }
    return Weights(**{**fields, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tag": "Demo_1"}, "kebab-case"),
        ({"sha256": "abc"}, "sha256 must be 64 lower-case hex digits"),
        ({"sha256": "A" * 64}, "sha256 must be 64 lower-case hex digits"),
        ({"scale": 1}, "scale must be >= 2"),
        ({"urls": ()}, "give at least one URL"),
        ({"format": "onnx"}, "format must be one of"),
    ],
)
def test_weights_records_are_validated(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _weights(**changes)


def test_published_records_are_validated() -> None:
    with pytest.raises(ValueError, match="must say where"):
        Published(source="", protocol="paper@1", values={})
    with pytest.raises(ValueError, match="'name@version'"):
        Published(source="x", protocol="paper", values={})


def test_records_are_frozen_and_the_file_name_comes_from_the_url() -> None:
    w = _weights(urls=("https://example.org/a/9-5-5%28ImageNet%29/x2.mat",))
    assert w.filename == "x2.mat"
    with pytest.raises(AttributeError):
        w.tag = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        w.options["padding"] = "zeros"  # type: ignore[index]
