"""Ablation sweeps: train per variant, evaluate through the runner, mean ± std and Δ tables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from srbench.errors import ConfigError
from srbench.train.ablate import DEFAULT_VARIANTS, PRESETS, AblationConfig, ablate

pytestmark = pytest.mark.filterwarnings("ignore:Set5 has .* images, expected 5")


def _sweep(
    tmp_path: Path, make_images: Callable[..., Path], tiny_drn: dict, **changes
) -> AblationConfig:  # type: ignore[no-untyped-def]
    make_images(tmp_path / "data" / "Set5", [(24, 20), (20, 24)], seed=5)
    base = {
        "models": ("drn-gs",),
        "variants": {"drn-gs": {"l1": "l1", "gs+dual": "gs+dual"}},
        "data": make_images(tmp_path / "train", [(32, 32)] * 3),
        "data_root": tmp_path / "data",
        "out": tmp_path / "sweep",
        "datasets": ("set5",),
        "scales": (2,),
        "seeds": (0, 1),
        "model_options": {"drn-gs": tiny_drn},
        "train": {"steps": 2, "batch_size": 2, "patch_size": 16, "val_images": 0},
    }
    return AblationConfig(**(base | changes))


def test_sweep_trains_each_variant_and_seed_and_tabulates_delta(
    tmp_path: Path, make_images: Callable[..., Path], tiny_drn: dict
) -> None:
    config = _sweep(tmp_path, make_images, tiny_drn)
    lines: list[str] = []
    result = ablate(config, echo=lines.append)
    assert len(result.runs) == 4 and not result.failures
    assert lines[0] == "ablate: 4 training run(s) on the LocalExecutor" and len(lines) == 5
    assert {(r["label"], r["seed"]) for r in result.runs} == {
        (label, seed) for label in ("l1", "gs+dual") for seed in (0, 1)
    }
    assert len({r["name"] for r in result.runs}) == 4  # one registered model per checkpoint
    rows = [
        [c.strip() for c in line.split("|")[1:-1]] for line in result.tables["psnr"].splitlines()
    ]
    assert rows[0] == ["model", "variant", "loss spec", "Set5 x2", "Δ"]
    ref, other = rows[2], rows[3]
    assert ref[:3] == ["drn-gs", "l1 (ref)", "l1"] and " ± " in ref[3] and ref[4] == ""
    assert other[:3] == ["drn-gs", "gs+dual", "gs+dual"] and " ± " in other[3]
    delta = float(other[3].split(" ± ")[0]) - float(ref[3].split(" ± ")[0])
    assert float(other[4]) == pytest.approx(delta, abs=0.011)
    assert set(result.tables) == {"psnr", "ssim"}
    # a rerun retrains nothing and rescores nothing: same checkpoints, same tables
    again = ablate(config, echo=lines.append)
    assert [r["name"] for r in again.runs] == [r["name"] for r in result.runs]
    assert again.tables == result.tables


def test_a_job_that_keeps_failing_is_recorded_and_the_sweep_goes_on(
    tmp_path: Path, make_images: Callable[..., Path], tiny_drn: dict, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import srbench.train.ablate as module

    real_train, attempts = module.train, []

    def train(config, **options):  # type: ignore[no-untyped-def]
        if config.seed == 1 and config.loss == "gs+dual":
            attempts.append(config.seed)
            raise RuntimeError("out of memory")
        return real_train(config, **options)

    monkeypatch.setattr(module, "train", train)
    result = ablate(_sweep(tmp_path, make_images, tiny_drn), echo=lambda _: None)
    assert len(attempts) == 3  # the first try and the local executor's 2 retries
    (failure,) = result.failures
    assert failure.startswith("drn-gs 'gs+dual' x2 seed 1: RuntimeError: out of memory")
    assert len(result.runs) == 3
    assert "gs+dual" in result.tables["psnr"]  # seed 0 of the variant still counts


def test_variants_are_checked_before_any_training(
    tmp_path: Path, make_images: Callable[..., Path], tiny_drn: dict
) -> None:
    bad = _sweep(tmp_path, make_images, tiny_drn, variants={"drn-gs": {"x": "l1+dula"}})
    with pytest.raises(ConfigError, match="no loss named 'dula'"):
        ablate(bad)
    ref = _sweep(tmp_path, make_images, tiny_drn, reference={"drn-gs": "gs"})
    with pytest.raises(ConfigError, match="--reference 'gs' is not a variant of 'drn-gs'"):
        ablate(ref)
    none = _sweep(tmp_path, make_images, tiny_drn, models=("test-nothing",), variants={})
    with pytest.raises(ConfigError, match="no loss variants for model 'test-nothing'"):
        ablate(none)
    assert not (tmp_path / "sweep" / "runs").exists()


def test_default_variants_parse_for_their_models() -> None:
    from srbench.train.losses import parse_loss

    assert list(DEFAULT_VARIANTS["drn-gs"])[:4] == ["l1", "l1+dual", "gs", "gs+dual"]
    assert list(DEFAULT_VARIANTS["spnet"]) == ["image-only", "+boundary", "+residual", "full"]
    for variants in DEFAULT_VARIANTS.values():
        for spec in variants.values():
            parse_loss(spec)
    assert PRESETS["ci"]["model_options"]["drn-gs"] == {"preset": "tiny"}


@pytest.mark.slow
def test_ci_preset_on_the_shared_training_images(data_root: Path, tmp_path: Path) -> None:
    """The committed `--preset ci` sweep cut to 20 steps, 2 variants and Set5 (1-2 CPU minutes)."""
    from click.testing import CliRunner

    from srbench.cli import main

    if not (data_root / "train" / "T91").is_dir():
        pytest.skip(f"{data_root}/train/T91 is missing")
    args = ["ablate", "--model", "drn-gs", "--preset", "ci", "--steps", "20"]
    args += ["--losses", "l1,gs+dual", "--datasets", "set5", "--data-root", str(data_root)]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "ablation.md").read_text()
    assert f"training data: {data_root / 'train' / 'T91'}" in text
    assert "steps 20, seeds [0], scales [4]" in text and "| drn-gs  | gs+dual" in text
