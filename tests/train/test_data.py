"""Training data: folder checks, skipped images, caching, aligned and reproducible patches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from srbench.data.sets import SAMPLES
from srbench.errors import ConfigError, DataError
from srbench.protocol import PAPER
from srbench.protocol.imresize import imresize
from srbench.specs import ModelIO
from srbench.train.data import PatchSampler, load_train_set, resolve_train_data


def _load(source: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    options = {"scale": 2, "patch_size": 16, "protocol": PAPER} | kwargs
    return load_train_set(source, **options)  # type: ignore[arg-type]


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist or is not a folder"):
        _load(tmp_path / "nope")


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match="holds no images") as info:
        _load(tmp_path)
    assert ".png" in info.value.hint


def test_unreadable_and_small_images_are_skipped_with_a_warning(
    tmp_path: Path, make_images: Callable[..., Path]
) -> None:
    folder = make_images(tmp_path / "hr", [(40, 36), (10, 40), (40, 36)])
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.warns(UserWarning) as record:
        data = _load(folder)
    messages = " ".join(str(w.message) for w in record)
    assert "broken.png skipped" in messages and "img01.png skipped: 40x10 < patch 16" in messages
    assert [im.image_id for im in data.train] == ["img00", "img02"]
    assert [s[0] for s in data.manifest["skipped"]] == ["broken.png", "img01.png"]


def test_fails_when_no_image_is_large_enough(
    tmp_path: Path, make_images: Callable[..., Path]
) -> None:
    folder = make_images(tmp_path / "hr", [(10, 12), (12, 12)])
    with (
        pytest.warns(UserWarning, match="skipped"),
        pytest.raises(DataError, match="0 usable training image\\(s\\) of 2") as info,
    ):
        _load(folder)
    assert "--patch-size" in info.value.hint


def test_patch_size_must_be_a_multiple_of_the_scale(train_folder: Path) -> None:
    with pytest.raises(ConfigError, match="--patch-size 17 is not a multiple of the scale 2"):
        _load(train_folder, patch_size=17)


def test_held_out_images_and_manifest(train_folder: Path) -> None:
    data = _load(train_folder, val_images=2)
    assert len(data.train) == 3 and len(data.val) == 2
    assert data.manifest["val_images"] == [im.image_id for im in data.val]
    assert len(data.manifest["images"]) == 5 and len(data.manifest["digest"]) == 64
    with pytest.raises(DataError, match=r"5 usable training image\(s\) of 5 \(5 held out"):
        _load(train_folder, val_images=5)


def test_lr_and_boundary_maps_are_cached_per_image(train_folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _load(train_folder, boundary="canny", cache_dir=cache)
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 10 and sum("canny" in f for f in files) == 5
    again = _load(train_folder, boundary="canny", cache_dir=cache)
    for a, b in zip(first.train, again.train, strict=True):
        assert torch.equal(a.lr, b.lr) and torch.equal(a.boundary, b.boundary)  # type: ignore[arg-type]
        assert torch.equal(a.lr, PAPER.make_lr(a.hr[None], 2)[0])


def test_jobs_filling_one_cache_at_the_same_time_both_succeed(
    train_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, real_save, other = tmp_path / "cache", torch.save, []

    def save(obj: object, f: Path) -> None:  # another job fills the same entries meanwhile
        real_save(obj, f)
        if not other:
            other.append(None)
            other.append(_load(train_folder, cache_dir=cache))

    monkeypatch.setattr(torch, "save", save)
    first = _load(train_folder, cache_dir=cache)
    assert len(first.train) == len(other[1].train) == 5
    assert not list(cache.glob("*.tmp")) and len(list(cache.iterdir())) == 5


def test_patches_are_aligned_and_reproducible(train_folder: Path) -> None:
    data = _load(train_folder, boundary="canny")
    sampler = PatchSampler(data.train, scale=2, patch_size=16, batch_size=6, io=ModelIO(), seed=3)
    batch = sampler.sample()
    assert batch.lr.shape == (6, 3, 8, 8) and batch.hr.shape == (6, 3, 16, 16)
    assert batch.boundary is not None and batch.boundary.shape == (6, 1, 16, 16)
    # the LR patch is the bicubic LR of the HR patch up to the patch border
    down = imresize(batch.hr.double(), 0.5)
    assert (down - batch.lr)[..., 2:-2, 2:-2].abs().max() < 1.5 / 255
    again = PatchSampler(data.train, scale=2, patch_size=16, batch_size=6, io=ModelIO(), seed=3)
    assert torch.equal(again.sample().hr, batch.hr)
    other = PatchSampler(data.train, scale=2, patch_size=16, batch_size=6, io=ModelIO(), seed=4)
    assert not torch.equal(other.sample().hr, batch.hr)


def test_y_models_get_matlab_y_and_upsampled_models_an_upsampled_input(
    tmp_path: Path, make_images: Callable[..., Path]
) -> None:
    folder = make_images(tmp_path / "hr", [(20, 20)])
    data = _load(folder)
    io = ModelIO(color="y", upsampled_input=True)
    batch = PatchSampler(data.train, scale=2, patch_size=16, batch_size=2, io=io, seed=0).sample()
    assert batch.hr.shape == (2, 1, 16, 16) and batch.inputs.shape == (2, 1, 16, 16)
    assert batch.hr.min() >= 16 / 255 and batch.hr.max() <= 235 / 255


def test_default_training_data(tmp_path: Path) -> None:
    assert resolve_train_data("some/dir", None) == Path("some/dir")
    samples = resolve_train_data(None, tmp_path)
    assert samples == tuple(ref.path for ref in SAMPLES.images(None, 2))
    (tmp_path / "train" / "T91").mkdir(parents=True)
    assert resolve_train_data(None, tmp_path) == tmp_path / "train" / "T91"
