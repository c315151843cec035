"""Checkpoints nobody here trained reproduce their published numbers under their own protocol,
and the committed paper-protocol table (results/baselines/) is reproducible.

The checkpoints go through srbench's own importers (`.mat`, restricted unpickler) into a
private cache; per-image values are also checked against the independent implementation
in shared/weights/reference_psnr.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from baselines.srcnn import SRCNNWeights
from baselines.vdsr import VDSRWeights
from srbench.data.io import sha256_file
from srbench.engine.run import RunConfig, run
from srbench.report.tables import summary_table
from srbench.store.sqlite import Store
from srbench.weights import WeightsEnum, by_digest, install

PUBLISHED_TOL = 0.02  # dB: the reproduction target of the checkpoints' published numbers
REFERENCE_TOL = 0.005  # dB per image vs the independent implementation (4-decimal JSON)
TABLE = Path(__file__).parents[2] / "results" / "baselines" / "paper_protocol.csv"
CHECKPOINTS = (
    "srcnn/9-5-5_ImageNet/x2.mat",
    "srcnn/9-5-5_ImageNet/x3.mat",
    "srcnn/9-5-5_ImageNet/x4.mat",
    "srcnn/9-1-5_ImageNet/x3.mat",
    "vdsr/model_epoch_50.pth",
)


@pytest.fixture(scope="module")
def home(weights_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private SRBENCH_HOME holding the shared checkpoints, imported by srbench itself."""
    home = tmp_path_factory.mktemp("srbench-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SRBENCH_HOME", str(home))
        for name in CHECKPOINTS:
            path = weights_root / name
            for model, weights in by_digest(sha256_file(path)):
                install(model, weights, path)
        yield home


def _run(
    data_root: Path, out: Path, models: tuple[str, ...], datasets: tuple[str, ...], **kw: object
) -> pd.DataFrame:
    summary = run(
        RunConfig(
            models=models,
            datasets=datasets,
            scales=kw.pop("scales", (2, 3, 4)),  # type: ignore[arg-type]
            out=out,
            data_root=data_root,
            timing="off",
            **kw,  # type: ignore[arg-type]
        )
    )
    assert summary.ok and not summary.skipped, (summary.failures, summary.skipped)
    store = Store(out, create=False)
    rows = store.results()
    store.close()
    return rows


@pytest.fixture(scope="module")
def srcnn_rows(
    home: Path, data_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("srcnn")
    return _run(
        data_root,
        out,
        ("srcnn", "bicubic"),
        ("set5", "set14"),
        protocol="srcnn-matlab",
        metrics=("psnr",),
    )


@pytest.fixture(scope="module")
def vdsr_rows(
    home: Path, data_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("vdsr")
    return _run(data_root, out, ("vdsr",), ("set5",), protocol="vdsr-pytorch", metrics=("psnr",))


def _reference(weights_root: Path) -> dict:
    return json.loads((weights_root / "reference_psnr.json").read_text())


def _mean(rows: pd.DataFrame, model: str, dataset: str, scale: int) -> float:
    table = summary_table(rows)
    cell = table[
        (table["model"] == model) & (table["dataset"] == dataset) & (table["scale"] == scale)
    ]
    assert len(cell) == 1 and cell.iloc[0]["n_images"] == {"Set5": 5, "Set14": 14}[dataset]
    return float(cell.iloc[0]["psnr"])


def _published(enum: type[WeightsEnum], scale: int, dataset: str) -> float:
    published = enum.default(scale).meta.published  # type: ignore[union-attr]
    return published.values[(dataset, "psnr")]


def _per_image(rows: pd.DataFrame, model: str, dataset: str, scale: int) -> dict[str, float]:
    mine = rows[
        (rows["model"] == model)
        & (rows["dataset"] == dataset)
        & (rows["scale"] == scale)
        & (rows["metric"] == "psnr")
    ]
    return dict(zip(mine["image_id"], mine["value"], strict=True))


SRCNN_CELLS = [(d, s) for d in ("Set5", "Set14") for s in (2, 3, 4)]


@pytest.mark.parametrize(("dataset", "scale"), SRCNN_CELLS)
def test_srcnn_reproduces_its_published_numbers(
    srcnn_rows: pd.DataFrame, weights_root: Path, dataset: str, scale: int
) -> None:
    measured = _mean(srcnn_rows, "srcnn", dataset, scale)
    assert abs(measured - _published(SRCNNWeights, scale, dataset)) <= PUBLISHED_TOL
    key = f"9-5-5(ImageNet) x{scale} {dataset}"
    reference = _reference(weights_root)["srcnn"][key]["per_image_[srcnn,bicubic]"]
    ours = _per_image(srcnn_rows, "srcnn", dataset, scale)
    bicubic = _per_image(srcnn_rows, "bicubic", dataset, scale)
    assert ours.keys() == reference.keys()
    for image, (srcnn_ref, bicubic_ref) in reference.items():
        assert abs(ours[image] - srcnn_ref) <= REFERENCE_TOL, image
        assert abs(bicubic[image] - bicubic_ref) <= REFERENCE_TOL, image


def test_a_non_default_srcnn_checkpoint_is_chosen_by_tag(
    home: Path, data_root: Path, weights_root: Path, tmp_path: Path
) -> None:
    rows = _run(
        data_root,
        tmp_path,
        ("srcnn",),
        ("set5",),
        scales=(3,),
        protocol="srcnn-matlab",
        metrics=("psnr",),
        weights=("srcnn.imagenet-915",),
    )
    assert set(rows["weights_tag"]) == {"imagenet-915"}
    reference = _reference(weights_root)["srcnn"]["9-1-5(ImageNet) x3 Set5"]
    assert abs(_mean(rows, "srcnn", "Set5", 3) - reference["mean_psnr"]) <= REFERENCE_TOL


@pytest.mark.slow  # VDSR on Set5 at three scales: about a minute on 2 CPU cores
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_vdsr_reproduces_its_published_numbers(
    vdsr_rows: pd.DataFrame, weights_root: Path, scale: int
) -> None:
    measured = _mean(vdsr_rows, "vdsr", "Set5", scale)
    assert abs(measured - _published(VDSRWeights, scale, "Set5")) <= PUBLISHED_TOL
    reference = _reference(weights_root)["vdsr"][f"x{scale} Set5"]["per_image_[vdsr,bicubic]"]
    ours = _per_image(vdsr_rows, "vdsr", "Set5", scale)
    assert ours.keys() == reference.keys()
    for image, (vdsr_ref, _) in reference.items():
        assert abs(ours[image] - vdsr_ref) <= REFERENCE_TOL, image


def test_the_committed_paper_protocol_table_is_reproduced(
    home: Path, data_root: Path, tmp_path: Path
) -> None:
    """SRCNN on Set5 and VDSR on Set5 x4 rerun under paper@1 give the committed cells."""
    committed = pd.read_csv(TABLE, keep_default_na=False, na_values=[""])
    srcnn = _run(data_root, tmp_path / "s", ("srcnn",), ("set5",))
    vdsr = _run(data_root, tmp_path / "v", ("vdsr",), ("set5",), scales=(4,))
    table = pd.concat([summary_table(srcnn), summary_table(vdsr)])
    assert len(table) == 4
    for _, row in table.iterrows():
        cell = committed[
            (committed["model"] == row["model"])
            & (committed["dataset"] == row["dataset"])
            & (committed["scale"] == row["scale"])
        ]
        assert len(cell) == 1 and cell.iloc[0]["protocol"] == "paper@1"
        assert abs(cell.iloc[0]["psnr"] - row["psnr"]) <= 0.002, row["model"]
        assert abs(cell.iloc[0]["ssim"] - row["ssim"]) <= 0.0002, row["model"]
        expected = by_digest(cell.iloc[0]["weights_sha256"])
        assert (row["model"], row["weights_tag"]) in {(m, w.tag) for m, w in expected}
