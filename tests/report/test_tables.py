"""Summary tables: means of per-image rows, failure counts, published Δ, protocol mixing."""

from __future__ import annotations

import pandas as pd
import pytest

from srbench.errors import ConfigError, StoreError
from srbench.report.render import render
from srbench.report.tables import load_published, per_image_table, summary_table


def _rows(spec: list[tuple]) -> pd.DataFrame:
    """(model, dataset, scale, image, metric, value, status, protocol, created_at) tuples."""
    records = []
    for model, dataset, scale, image, metric, value, status, protocol, created in spec:
        records.append(
            {
                "model": model,
                "weights_tag": "",
                "weights_sha256": "",
                "dataset": dataset,
                "scale": scale,
                "protocol": protocol.split("@")[0],
                "protocol_version": int(protocol.split("@")[1]),
                "image_id": image,
                "metric": metric,
                "value": value,
                "status": status,
                "error": None if status == "ok" else f"{status} because",
                "created_at": created,
            }
        )
    return pd.DataFrame(records)


OK = "ok"
P = "paper@1"


def test_dataset_score_is_the_mean_of_per_image_scores() -> None:
    rows = _rows(
        [
            ("bicubic", "Set5", 2, "a", "psnr", 30.0, OK, P, "1"),
            ("bicubic", "Set5", 2, "b", "psnr", 34.0, OK, P, "1"),
            ("bicubic", "Set5", 2, "a", "ssim", 0.8, OK, P, "1"),
            ("bicubic", "Set5", 2, "b", "ssim", 0.9, OK, P, "1"),
        ]
    )
    row = summary_table(rows).iloc[0]
    assert row["psnr"] == pytest.approx(32.0) and row["ssim"] == pytest.approx(0.85)
    assert row["n_images"] == 2 and row["n_failed"] == 0
    assert row["psnr_published"] == 33.66
    assert row["psnr_delta"] == pytest.approx(32.0 - 33.66)


def test_a_published_row_for_one_checkpoint_applies_to_that_checkpoint_only() -> None:
    spec = [("srcnn", "Set5", 2, "a", "psnr", 36.5, OK, "srcnn-matlab@1", "1")]
    tagged = _rows(spec)
    other = tagged.assign(weights_tag="imagenet-915")
    tagged["weights_tag"] = "imagenet-955"
    assert summary_table(tagged).iloc[0]["psnr_published"] == 36.66
    assert pd.isna(summary_table(other).iloc[0]["psnr_published"])
    untagged = summary_table(_rows([("srcnn", "Set5", 2, "a", "psnr", 36.5, OK, P, "1")]))
    assert untagged.iloc[0]["psnr_published"] == 36.66  # the paper's row fits any checkpoint


def test_failed_images_are_counted_not_averaged() -> None:
    rows = _rows(
        [
            ("bicubic", "Set5", 2, "a", "psnr", 30.0, OK, P, "1"),
            ("bicubic", "Set5", 2, "b", "psnr", None, "failed", P, "1"),
        ]
    )
    row = summary_table(rows).iloc[0]
    assert row["psnr"] == 30.0 and row["n_images"] == 1 and row["n_failed"] == 1
    assert row["note"] == "failed because"


def test_newer_rows_supersede_older_ones() -> None:
    rows = _rows(
        [
            ("bicubic", "Set5", 2, "a", "psnr", None, "failed", P, "1"),
            ("bicubic", "Set5", 2, "a", "psnr", 31.0, OK, P, "2"),
        ]
    )
    row = summary_table(rows).iloc[0]
    assert row["psnr"] == 31.0 and row["n_failed"] == 0


def test_skipped_cell_has_no_scores_and_says_why() -> None:
    rows = _rows([("edsr", "Set5", 2, "a", "psnr", None, "skipped", P, "1")])
    row = summary_table(rows).iloc[0]
    assert row["n_images"] == 0 and row["n_skipped"] == 1 and row["note"] == "skipped because"
    assert "–" in render(summary_table(rows), "markdown")


def test_mixed_protocols_are_refused_unless_allowed() -> None:
    rows = _rows(
        [
            ("bicubic", "Set5", 2, "a", "psnr", 30.0, OK, P, "1"),
            ("bicubic", "Set5", 2, "a", "psnr", 29.0, OK, "rgb@1", "1"),
        ]
    )
    with pytest.raises(ConfigError, match="mix protocols"):
        summary_table(rows)
    table = summary_table(rows, allow_mixed_protocols=True)
    assert len(table) == 2
    assert "mixed protocols" in render(table, "markdown")
    assert len(summary_table(rows, protocol="rgb@1")) == 1


def test_empty_and_unmatched_selections_say_so() -> None:
    with pytest.raises(StoreError, match="empty"):
        summary_table(_rows([]))
    rows = _rows([("bicubic", "Set5", 2, "a", "psnr", 30.0, OK, P, "1")])
    with pytest.raises(StoreError, match="no stored results match"):
        summary_table(rows, models=["edsr"])


def test_per_image_table_has_one_row_per_image() -> None:
    rows = _rows(
        [
            ("bicubic", "Set5", 2, "a", "psnr", 30.0, OK, P, "1"),
            ("bicubic", "Set5", 2, "a", "ssim", 0.8, OK, P, "1"),
            ("bicubic", "Set5", 2, "b", "psnr", 31.0, OK, P, "1"),
            ("bicubic", "Set5", 2, "b", "ssim", 0.7, OK, P, "1"),
        ]
    )
    table = per_image_table(rows)
    assert list(table["image_id"]) == ["a", "b"] and list(table["ssim"]) == [0.8, 0.7]


def test_per_image_table_holds_only_stored_combinations() -> None:
    rows = _rows(
        [
            ("bicubic", "Set5", 2, "a", "psnr", 30.0, OK, P, "1"),
            ("srcnn", "Set14", 3, "b", "psnr", 31.0, OK, P, "1"),
            ("vdsr", "Set14", 4, "c", "psnr", None, "skipped", P, "1"),
        ]
    )
    rows.loc[1, "weights_tag"] = "imagenet-955"
    table = per_image_table(rows)
    columns = ["model", "weights_tag", "image_id", "status"]
    got = list(table[columns].itertuples(index=False, name=None))
    assert got == [
        ("bicubic", "", "a", "ok"),
        ("srcnn", "imagenet-955", "b", "ok"),
        ("vdsr", "", "c", "skipped"),
    ]
    assert table["psnr"].tolist()[:2] == [30.0, 31.0] and pd.isna(table["psnr"].iloc[2])


def test_published_reference_has_a_source_on_every_row() -> None:
    published = load_published()
    assert published["source"].str.len().min() > 10
    assert {"bicubic", "srcnn", "vdsr", "edsr", "edsr-baseline"} <= set(published["method"])
    assert len(published[published["method"] == "bicubic"]) == 4 * 3 * 2


def test_latex_is_booktabs_with_protocol_footnote() -> None:
    rows = _rows([("bicubic", "Set5", 2, "a", "psnr", 30.0, OK, P, "1")])
    text = render(summary_table(rows), "latex")
    assert "\\toprule" in text and "\\bottomrule" in text and "paper@1" in text


def test_an_image_with_any_failed_metric_enters_no_mean() -> None:
    # b: PSNR scored (inf: reproduced exactly) but SSIM failed (too small for the window)
    rows = _rows(
        [
            ("bicubic", "Set5", 2, "a", "psnr", 30.0, OK, P, "1"),
            ("bicubic", "Set5", 2, "a", "ssim", 0.8, OK, P, "1"),
            ("bicubic", "Set5", 2, "b", "psnr", float("inf"), OK, P, "1"),
            ("bicubic", "Set5", 2, "b", "ssim", None, "failed", P, "1"),
        ]
    )
    row = summary_table(rows).iloc[0]
    assert row["psnr"] == 30.0 and row["ssim"] == 0.8
    assert row["n_images"] == 1 and row["n_failed"] == 1
