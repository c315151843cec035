"""The LR cache: entries round-trip, bad entries are never used, unwritable caches are skipped."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from srbench.cli import main
from srbench.data.io import sha256_file
from srbench.engine import lrcache
from srbench.engine.lrcache import LrCache, LrKey
from srbench.engine.run import RunConfig, run
from srbench.protocol import PAPER
from srbench.store.sqlite import Store

pytestmark = pytest.mark.filterwarnings("ignore:Set5 has .* images, expected 5")

KEY = LrKey("ab" * 32, 2, "paper@1", "cpu")


def _make_set(root: Path, n: int = 2) -> Path:
    folder = root / "Set5"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(n):
        Image.fromarray(rng.integers(0, 256, (26, 30, 3), dtype=np.uint8)).save(
            folder / f"i{k}.png"
        )
    return root


def _run(root: Path, out: Path, **kw: object) -> np.ndarray:
    """Run bicubic on `root`'s Set5 at x2 and x3; the stored values in a fixed order."""
    summary = run(
        RunConfig(
            models=("bicubic",),
            datasets=("set5",),
            scales=(2, 3),
            out=out,
            data_root=root,
            timing="off",
            **kw,  # type: ignore[arg-type]
        )
    )
    assert summary.ok, summary.failures
    rows = Store(out).results()
    return rows.sort_values(["image_id", "scale", "metric"])["value"].to_numpy()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SRBENCH_HOME", str(home))
    return home


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float64])
def test_an_entry_round_trips(tmp_path: Path, dtype: torch.dtype) -> None:
    cache = LrCache(tmp_path)
    lr = (torch.rand(1, 3, 5, 7) * 255).to(dtype)
    assert cache.get(KEY) is None
    cache.put(KEY, lr)
    got = cache.get(KEY)
    assert got is not None and got.dtype == dtype and torch.equal(got, lr)
    assert (cache.hits, cache.misses) == (1, 1)
    assert cache.path(KEY).parent.name == KEY.digest[:2]


def test_the_key_covers_image_scale_protocol_and_device() -> None:
    variants = {
        KEY,
        LrKey("cd" * 32, 2, "paper@1", "cpu"),
        LrKey(KEY.image_sha256, 3, "paper@1", "cpu"),
        LrKey(KEY.image_sha256, 2, "paper@2", "cpu"),
        LrKey(KEY.image_sha256, 2, "paper@1", "cuda"),
    }
    assert len({key.digest for key in variants}) == 5


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda blob: blob[:-1] + bytes([blob[-1] ^ 1]), "do not match their SHA-256"),
        (lambda blob: blob[: len(blob) - 7], "do not match their SHA-256"),
        (lambda blob: b"garbage" + blob, "not an srbench LR cache file"),
        (lambda blob: blob.replace(b'"scale": 2', b'"scale": 4'), "stale entry"),
    ],
)
def test_a_bad_entry_is_reported_deleted_and_never_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: object, reason: str
) -> None:
    cache = LrCache(tmp_path)
    cache.put(KEY, torch.arange(30, dtype=torch.uint8).view(1, 1, 5, 6))
    path = cache.path(KEY)
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    with caplog.at_level(logging.WARNING, logger="srbench"):
        assert cache.get(KEY) is None
    assert reason in caplog.text and "regenerating" in caplog.text
    assert not path.exists()


def test_an_entry_under_another_key_is_stale(tmp_path: Path) -> None:
    cache = LrCache(tmp_path)
    other = LrKey(KEY.image_sha256, 3, "paper@1", "cpu")
    cache.put(other, torch.zeros(1, 1, 2, 2, dtype=torch.uint8))
    cache.path(KEY).parent.mkdir(parents=True, exist_ok=True)
    cache.path(other).rename(cache.path(KEY))
    assert cache.get(KEY) is None


def test_a_corrupt_entry_is_regenerated_and_the_scores_do_not_change(
    tmp_path: Path, home: Path
) -> None:
    root = _make_set(tmp_path / "data")
    first = _run(root, tmp_path / "a")
    entries = sorted((home / "lr-cache").glob("*/*.lr"))
    assert len(entries) == 4  # 2 images x 2 scales
    for entry in entries:
        blob = bytearray(entry.read_bytes())
        blob[-1] ^= 0xFF
        entry.write_bytes(bytes(blob))
    second = _run(root, tmp_path / "b")
    np.testing.assert_array_equal(first, second)
    keys = [
        LrKey(sha256_file(p), s, "paper@1", "cpu")
        for p in sorted((root / "Set5").glob("*.png"))
        for s in (2, 3)
    ]
    assert all(LrCache().get(key) is not None for key in keys)  # rewritten, valid again


def test_a_second_run_reads_the_cache_and_never_resizes(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _make_set(tmp_path / "data")
    first = _run(root, tmp_path / "a")

    def no_resizing(*args: object) -> None:
        raise AssertionError("the LR was made again")

    monkeypatch.setattr(PAPER.__class__, "make_lr", no_resizing)
    np.testing.assert_array_equal(first, _run(root, tmp_path / "b"))


def test_an_unwritable_cache_warns_once_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    root = _make_set(tmp_path / "data")
    reference = _run(root, tmp_path / "ref")  # default home: any writable cache
    not_a_folder = tmp_path / "home-file"
    not_a_folder.write_text("a file where the cache folder should be")
    monkeypatch.setenv("SRBENCH_HOME", str(not_a_folder))
    with caplog.at_level(logging.WARNING, logger="srbench"):
        np.testing.assert_array_equal(reference, _run(root, tmp_path / "out"))
    warnings = [r for r in caplog.records if "cannot write the LR cache" in r.getMessage()]
    assert len(warnings) == 1 and "continues without caching" in warnings[0].getMessage()


def test_a_full_disk_warns_once_and_the_run_goes_on(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def full(path: Path, parts: tuple[bytes, memoryview]) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(lrcache, "_atomic_write", full)
    root = _make_set(tmp_path / "data")
    with caplog.at_level(logging.WARNING, logger="srbench"):
        _run(root, tmp_path / "out")
    warnings = [r.getMessage() for r in caplog.records if "LR cache" in r.getMessage()]
    assert len(warnings) == 1 and "it is full" in warnings[0]
    assert not list(home.glob("lr-cache/*/*.lr"))


def test_cache_info_and_clear(tmp_path: Path, home: Path) -> None:
    _run(_make_set(tmp_path / "data"), tmp_path / "out")
    runner = CliRunner()
    info = runner.invoke(main, ["cache", "info"])
    assert info.exit_code == 0 and "4 LR images" in info.output and str(home) in info.output
    assert "FLOP counts" in info.output and ": 2 entries" in info.output  # bicubic x2, x3
    cleared = runner.invoke(main, ["cache", "clear"])
    assert cleared.exit_code == 0 and cleared.output.startswith("removed 4 LR images")
    assert "removed 2 FLOP counts" in cleared.output
    after = runner.invoke(main, ["cache", "info"]).output
    assert "0 LR images, 0.0 MB" in after and ": 0 entries" in after
