"""The checkpoint cache: SRBENCH_HOME, digests on every load, offline errors, build_model hook."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import platformdirs
import pytest
import requests
import torch
from torch import Tensor, nn

from srbench import ModelIO, register_model
from srbench.errors import ConfigError, WeightsError
from srbench.models import build_model
from srbench.weights import (
    Weights,
    WeightsEnum,
    cache_path,
    install,
    load_checkpoint,
    srbench_home,
    verify_cached,
)
from srbench.weights.cache import download, record_path


@register_model("test-tiny-weights")
class Tiny(nn.Module):
    """conv 3→3·s² and pixel shuffle: the smallest model with weights."""

    io = ModelIO(value_range=255.0)
    scales = (2,)
    weights: type[WeightsEnum] | None = None  # set per test

    def __init__(self, *, scale: int, bias: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3 * scale * scale, 3, padding=1, bias=bias)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: Tensor) -> Tensor:
        """Upscale by `scale`."""
        return self.shuffle(self.conv(x))


class Whole(nn.Module):
    """Saved as a whole pickled model."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3, padding=1)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _weights(path: Path, tag: str = "one", fmt: str = "state_dict", **kw: object) -> Weights:
    fields: dict[str, object] = {
        "tag": tag,
        "scale": 2,
        "urls": (f"https://example.org/models/{path.name}",),
        "sha256": _sha(path),
        "file_bytes": path.stat().st_size,
        "format": fmt,
        "num_params": 120,
        "origin": "a test",
        "license": "MIT",
    }
    return Weights(**{**fields, **kw})  # type: ignore[arg-type]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def checkpoint(tmp_path: Path) -> tuple[Path, dict[str, Tensor]]:
    torch.manual_seed(0)
    state = Tiny(scale=2).state_dict()
    path = tmp_path / "tiny_x2-0000.pt"
    torch.save(state, path)
    return path, state


def _declare(monkeypatch: pytest.MonkeyPatch, *members: Weights) -> type[WeightsEnum]:
    enum = WeightsEnum("TinyWeights", [(f"{w.tag.upper()}_X2", w) for w in members])  # type: ignore[misc]
    monkeypatch.setattr(Tiny, "weights", enum)
    return enum  # type: ignore[return-value]


def test_home_is_srbench_home_or_the_platform_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SRBENCH_HOME", raising=False)
    assert srbench_home() == Path(platformdirs.user_cache_dir("srbench"))
    monkeypatch.setenv("SRBENCH_HOME", "~/sr")
    assert srbench_home() == Path("~/sr").expanduser()


def test_a_missing_checkpoint_says_what_where_and_both_fixes(home: Path) -> None:
    with pytest.raises(WeightsError) as info:
        build_model("srcnn", scale=2)
    text = str(info.value)
    expected_path = home / "weights" / "srcnn" / "imagenet-955" / "x2.state_dict.pt"
    for part in (
        "weights srcnn.imagenet-955 for x2 are not in the cache",
        f"expected {expected_path}",
        "dc06d52ab0ecfb75a4222a33c06c2c23287cf67abbd75b869a178f6305f8cdc1",
        "https://raw.githubusercontent.com/RakeshRaj97/Super-Resolution/",
        "`srbench weights fetch srcnn.imagenet-955 --scales 2`",
        "`srbench weights import FILE`",
    ):
        assert part in text, part


def test_a_state_dict_checkpoint_loads_with_its_digest_recorded(
    home: Path, checkpoint: tuple[Path, dict[str, Tensor]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, state = checkpoint
    w = _weights(path)
    _declare(monkeypatch, w)
    dest = install("test-tiny-weights", w, path)
    assert dest == home / "weights" / "test-tiny-weights" / "one" / path.name
    built = build_model("test-tiny-weights", scale=2)
    assert (built.weights_tag, built.weights_sha256) == ("one", w.sha256)
    assert torch.equal(built.module.conv.weight, state["conv.weight"])


def test_a_corrupt_cached_file_is_caught_on_load(
    home: Path, checkpoint: tuple[Path, dict[str, Tensor]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = checkpoint
    w = _weights(path)
    _declare(monkeypatch, w)
    dest = install("test-tiny-weights", w, path)
    data = bytearray(dest.read_bytes())
    data[-10] ^= 0xFF
    dest.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=rf"has SHA-256 [0-9a-f]{{64}}, expected {w.sha256}"):
        build_model("test-tiny-weights", scale=2)


def test_a_file_with_the_wrong_digest_is_not_imported(
    home: Path, checkpoint: tuple[Path, dict[str, Tensor]], tmp_path: Path
) -> None:
    path, _ = checkpoint
    w = _weights(path)
    other = tmp_path / "other.pt"
    torch.save(Tiny(scale=2).state_dict(), other)
    with pytest.raises(WeightsError, match=r"other\.pt has SHA-256 .* expected .*\n  hint"):
        install("test-tiny-weights", w, other)
    assert not cache_path("test-tiny-weights", w).exists()


def test_a_truncated_download_is_refused(
    home: Path, checkpoint: tuple[Path, dict[str, Tensor]], tmp_path: Path
) -> None:
    path, _ = checkpoint
    w = _weights(path)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(WeightsError, match=rf"1,000 bytes, expected {w.file_bytes:,}"):
        install("test-tiny-weights", w, cut)


def test_a_pickled_model_declared_as_a_state_dict_is_refused(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "whole.pth"
    torch.save(Whole(), path)
    w = _weights(path)
    _declare(monkeypatch, w)
    with pytest.raises(
        WeightsError, match=r"not a plain state dict \(it pickles test_cache\.Whole"
    ):
        install("test-tiny-weights", w, path)
    dest = cache_path("test-tiny-weights", w)  # as if someone put it there by hand
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, dest)
    with pytest.raises(WeightsError, match=r"not a plain state dict"):
        build_model("test-tiny-weights", scale=2)


def test_a_checkpoint_for_another_architecture_names_the_mismatch(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "nobias.pt"
    torch.save(Tiny(scale=2, bias=False).state_dict(), path)
    _declare(monkeypatch, w := _weights(path))
    install("test-tiny-weights", w, path)
    with pytest.raises(WeightsError, match=r"test-tiny-weights\.one x2.*missing keys: conv\.bias"):
        build_model("test-tiny-weights", scale=2)


def test_a_pickled_checkpoint_is_converted_once_and_checked_on_every_load(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(1)
    whole = Whole()
    path = tmp_path / "whole_epoch_5.pth"
    torch.save({"epoch": 5, "model": whole}, path, _use_new_zipfile_serialization=False)
    w = _weights(path, fmt="torch_pickle")
    dest = install("test-tiny-weights", w, path, allow_classes=["test_cache.Whole"])
    assert dest.name == "whole_epoch_5.state_dict.pt"
    record = json.loads(record_path(dest).read_text())
    assert record["source_sha256"] == w.sha256 and record["sha256"] == _sha(dest)
    state, source_sha = load_checkpoint("test-tiny-weights", w)
    assert source_sha == w.sha256 and torch.equal(state["conv.weight"], whole.conv.weight)

    dest.write_bytes(dest.read_bytes()[:-7])
    with pytest.raises(WeightsError, match=r"but was written as"):
        verify_cached("test-tiny-weights", w)
    install("test-tiny-weights", w, path, allow_classes=["test_cache.Whole"])
    record["source_sha256"] = "f" * 64
    record_path(dest).write_text(json.dumps(record))
    with pytest.raises(WeightsError, match=r"was converted from a file with SHA-256 f{64}"):
        verify_cached("test-tiny-weights", w)
    record_path(dest).unlink()
    with pytest.raises(WeightsError, match=r"no readable conversion record"):
        verify_cached("test-tiny-weights", w)


def test_weights_choice_and_default(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        paths.append(tmp_path / f"tiny{seed}.pt")
        torch.save(Tiny(scale=2).state_dict(), paths[-1])
    first, second = _weights(paths[0], "first"), _weights(paths[1], "second")
    _declare(monkeypatch, first, second)
    for w, p in ((first, paths[0]), (second, paths[1])):
        install("test-tiny-weights", w, p)
    assert build_model("test-tiny-weights", scale=2).weights_tag == "first"
    assert build_model("test-tiny-weights", scale=2, weights="second").weights_tag == "second"
    with pytest.raises(ConfigError, match=r"model 'bicubic' takes no weights"):
        build_model("bicubic", scale=2, weights="first")


def test_a_download_that_fails_says_how_to_import_instead(
    home: Path, checkpoint: tuple[Path, dict[str, Tensor]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pooch

    def offline(*args: object, **kwargs: object) -> str:
        raise requests.ConnectionError("Failed to resolve 'example.org'")

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(WeightsError) as info:
        download(_weights(checkpoint[0]), home)
    text = str(info.value)
    assert "https://example.org/models/tiny_x2-0000.pt: Failed to resolve" in text
    assert "`srbench weights import FILE`" in text


def test_a_downloaded_file_is_checked_even_where_only_a_prefix_is_known(
    home: Path, checkpoint: tuple[Path, dict[str, Tensor]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pooch

    path, _ = checkpoint
    monkeypatch.setattr(pooch, "retrieve", lambda *a, **k: str(path))
    assert download(_weights(path, sha256=_sha(path)[:8]), home) == path
    with pytest.raises(
        WeightsError, match=r"(?s)could not download.*expected 00000000 \([0-9,]+ bytes\)\n"
    ):
        download(_weights(path, sha256="0" * 8), home)
