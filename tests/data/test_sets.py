"""Dataset layouts, folder aliases, the embedded Samples set, and the errors' wording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srbench.data import sets
from srbench.data.io import read_image
from srbench.data.sets import B100, SAMPLES, SET5, SET14, URBAN100, DatasetSpec
from srbench.errors import DataError
from srbench.registry import datasets

TINY = DatasetSpec(name="Tiny", description="three synthetic images", n_images=3)


def _image(path: Path, value: int = 0, size: tuple[int, int] = (6, 4)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), value, dtype=np.uint8)).save(path)
    return path


def _ids(refs: list[sets.ImageRef]) -> list[str]:
    return [r.image_id for r in refs]


def test_plain_layout_sorted_by_id_and_mixed_formats(tmp_path: Path) -> None:
    for name in ("c.png", "a.bmp", "b.JPG", "notes.txt", ".hidden.png"):
        if name.endswith(".txt"):
            (tmp_path / "Tiny" / name).write_text("x")
        else:
            _image(tmp_path / "Tiny" / name)
    refs = TINY.images(tmp_path, 2)
    assert _ids(refs) == ["a", "b", "c"]
    assert refs[0] == sets.ImageRef("Tiny", "a", tmp_path / "Tiny" / "a.bmp")
    assert TINY.locate(tmp_path, 2).layout == "plain"


def test_edsr_layout_ignores_lr(tmp_path: Path) -> None:
    for i in range(3):
        _image(tmp_path / "Tiny" / "HR" / f"img{i}.png")
        _image(tmp_path / "Tiny" / "LR_bicubic" / "X2" / f"img{i}x2.png")
    found = TINY.locate(tmp_path, 4)
    assert found.layout == "edsr"
    assert [r.path.parent.name for r in found.images] == ["HR"] * 3


def test_selfexsr_layout_picks_the_scale(tmp_path: Path) -> None:
    for s in (2, 4):
        for i in (1, 2, 3):
            folder = tmp_path / "Tiny" / f"image_SRF_{s}"
            _image(folder / f"img_00{i}_SRF_{s}_HR.png", size=(6 * s, 4))
            _image(folder / f"img_00{i}_SRF_{s}_LR.png")
            _image(folder / f"img_00{i}_SRF_{s}_bicubic.png")
    refs = TINY.images(tmp_path, 4)
    assert _ids(refs) == ["img_001", "img_002", "img_003"]
    assert refs[0].path.name == "img_001_SRF_4_HR.png"
    assert TINY.locate(tmp_path, 2).images[2].path.name == "img_003_SRF_2_HR.png"
    with pytest.raises(DataError, match=r"no image_SRF_3/ \(it has scales 2, 4\)"):
        TINY.images(tmp_path, 3)


@pytest.mark.parametrize(
    ("spec", "folder"),
    [(SET5, "set5"), (SET5, "SET5"), (B100, "BSD100"), (B100, "bsds100"), (URBAN100, "urban100")],
)
def test_folder_aliases(tmp_path: Path, spec: DatasetSpec, folder: str) -> None:
    _image(tmp_path / folder / "x.png")
    with pytest.warns(UserWarning, match=rf"{spec.name} has 1 images, expected {spec.n_images}"):
        refs = spec.images(tmp_path, 2)
    assert refs == [sets.ImageRef(spec.name, "x", tmp_path / folder / "x.png")]


def test_two_candidate_folders_are_ambiguous(tmp_path: Path) -> None:
    _image(tmp_path / "B100" / "x.png")
    _image(tmp_path / "BSD100" / "x.png")
    with pytest.raises(DataError, match=r"B100: several folders .* could hold it: B100, BSD100"):
        B100.images(tmp_path, 2)


def test_missing_root_names_it_and_the_options(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"data root .*nowhere does not exist") as e:
        SET5.images(tmp_path / "nowhere", 2)
    assert "--data-root" in e.value.hint and "SRBENCH_DATA_ROOT" in e.value.hint


def test_missing_set_lists_the_root_and_the_layouts(tmp_path: Path) -> None:
    _image(tmp_path / "Set14" / "x.png")
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(DataError, match=r"no Set5 folder under .*; it holds Set14/, readme\.txt"):
        SET5.images(tmp_path, 2)
    with pytest.raises(DataError) as e:
        SET5.images(tmp_path, 2)
    for text in ("Set5/", "HR/", "image_SRF_<scale>", "srbench data fetch set5"):
        assert text in e.value.hint


def test_set_folder_without_images(tmp_path: Path) -> None:
    (tmp_path / "Tiny" / "GTmod12").mkdir(parents=True)
    with pytest.raises(DataError, match=r"Tiny: no images \(.*\.png.*\) in .*; it holds GTmod12/"):
        TINY.images(tmp_path, 2)


def test_duplicate_stems_are_refused(tmp_path: Path) -> None:
    _image(tmp_path / "Tiny" / "a.png")
    _image(tmp_path / "Tiny" / "a.bmp")
    with pytest.raises(DataError, match=r"two files for image 'a'"):
        TINY.images(tmp_path, 2)


def test_no_root_and_nothing_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path / "home"))
    with pytest.raises(DataError, match=r"Set5: no data root given and no downloaded copy") as e:
        SET5.images(None, 2)
    assert "srbench data fetch set5" in e.value.hint


def test_no_root_uses_the_download_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path))
    for i in range(3):
        _image(tmp_path / "datasets" / "Tiny" / f"{i}.png")
    assert _ids(TINY.images(None, 2)) == ["0", "1", "2"]


def test_resolve_data_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRBENCH_DATA_ROOT", "/from/env")
    assert sets.resolve_data_root("/from/option") == Path("/from/option")
    assert sets.resolve_data_root(None) == Path("/from/env")
    monkeypatch.delenv("SRBENCH_DATA_ROOT")
    assert sets.resolve_data_root(None) is None


def test_registry_names_resolve_to_the_specs() -> None:
    for name, spec in {"set5": SET5, "set14": SET14, "b100": B100, "urban100": URBAN100}.items():
        assert datasets.get(name) is spec and spec.key == name
    assert datasets.get("samples") is SAMPLES


def test_samples_load_offline_with_a_gray_image(tmp_path: Path) -> None:
    refs = SAMPLES.images(tmp_path / "ignored", 2)
    assert _ids(refs) == ["camera", "chelsea", "coffee", "rocket"]
    shapes = {r.image_id: tuple(read_image(r.path).shape) for r in refs}
    assert shapes == {
        "camera": (1, 512, 512),
        "chelsea": (3, 300, 451),
        "coffee": (3, 400, 600),
        "rocket": (3, 427, 640),
    }


def test_samples_without_scikit_image(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> None:
        raise ModuleNotFoundError(name)

    monkeypatch.setattr(sets.importlib.util, "find_spec", not_installed)
    with pytest.raises(DataError, match=r"Samples needs scikit-image") as e:
        SAMPLES.images(None, 2)
    assert e.value.hint == "pip install scikit-image"


@pytest.mark.parametrize(("spec", "count"), [(SET5, 5), (SET14, 14)])
def test_real_sets(data_root: Path, spec: DatasetSpec, count: int) -> None:
    refs = spec.images(data_root, 2)
    assert len(refs) == count
    channels = {r.image_id: read_image(r.path).shape[0] for r in refs}
    gray = [i for i, c in channels.items() if c == 1]
    assert gray == (["bridge"] if spec is SET14 else [])
