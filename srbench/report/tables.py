"""Store rows → per-(model, dataset, scale) tables; a dataset score is the mean of its images."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

import pandas as pd

from srbench.errors import ConfigError, StoreError

CELL = [
    "model",
    "weights_tag",
    "weights_sha256",
    "dataset",
    "scale",
    "protocol",
    "protocol_version",
]
DATASET_ORDER = {"Set5": 0, "Set14": 1, "B100": 2, "Urban100": 3}

__all__ = ["load_published", "per_image_table", "protocol_keys", "summary_table", "with_costs"]


def load_published() -> pd.DataFrame:
    """The published reference numbers shipped as package data, each row with its source."""
    with resources.files("srbench.reference").joinpath("published.csv").open() as f:
        return pd.read_csv(f, dtype={"weights_tag": str}, keep_default_na=False)


def protocol_keys(table: pd.DataFrame) -> list[str]:
    """The distinct `name@version` protocols of a table's rows."""
    return sorted(set(table["protocol"] + "@" + table["protocol_version"].astype(str)))


def _latest(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell, image, metric): the newest, so reruns and new versions supersede."""
    key = [*CELL, "image_id", "metric"]
    return rows.sort_values("created_at").drop_duplicates(key, keep="last")


def _select(
    rows: pd.DataFrame,
    models: Sequence[str] | None,
    datasets: Sequence[str] | None,
    scales: Sequence[int] | None,
    protocol: str | None,
    allow_mixed_protocols: bool,
) -> pd.DataFrame:
    if rows.empty:
        raise StoreError("the results store is empty", hint="run `srbench run` first")
    if models:
        rows = rows[rows["model"].isin(models)]
    if datasets:
        rows = rows[rows["dataset"].str.lower().isin([d.lower() for d in datasets])]
    if scales:
        rows = rows[rows["scale"].isin(scales)]
    if protocol:
        name, _, version = protocol.partition("@")
        rows = rows[
            (rows["protocol"] == name)
            & ((rows["protocol_version"].astype(str) == version) if version else True)
        ]
    if rows.empty:
        raise StoreError("no stored results match the filter", hint="see `srbench results list`")
    protocols = protocol_keys(rows)
    if len(protocols) > 1 and not allow_mixed_protocols:
        raise ConfigError(
            f"the selected results mix protocols {protocols}",
            hint="filter to one protocol, or pass --allow-mixed-protocols (it is footnoted)",
        )
    return _latest(rows)


def per_image_table(
    rows: pd.DataFrame,
    *,
    models: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    scales: Sequence[int] | None = None,
    protocol: str | None = None,
    allow_mixed_protocols: bool = False,
) -> pd.DataFrame:
    """Long per-image table: one row per (model, dataset, scale, image), a column per metric."""
    rows = _select(rows, models, datasets, scales, protocol, allow_mixed_protocols)
    # groupby, not pivot_table(dropna=False), which would cross every index level
    keys = [*CELL, "image_id", "status"]
    wide = (
        rows.groupby([*keys, "metric"], dropna=False, sort=False)["value"]
        .first()
        .unstack("metric")
        .reset_index()
    )
    errors = rows.groupby([*CELL, "image_id"])["error"].first().rename("error").reset_index()
    wide = wide.merge(errors, on=[*CELL, "image_id"], how="left")
    wide.columns.name = None
    return _ordered(wide, [*CELL, "image_id"])


def summary_table(
    rows: pd.DataFrame,
    *,
    models: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    scales: Sequence[int] | None = None,
    protocol: str | None = None,
    allow_mixed_protocols: bool = False,
) -> pd.DataFrame:
    """One row per (model, weights, dataset, scale, protocol): mean of each metric over the
    images scored ok, `n_images`, `n_failed`, `n_skipped`, and published values with Δ.

    An image on which any metric failed counts in `n_failed` and enters no mean, so that
    every mean of a row is over the same `n_images` images.
    """
    rows = _select(rows, models, datasets, scales, protocol, allow_mixed_protocols)
    images = _image_statuses(rows)
    image_of = pd.MultiIndex.from_frame(rows[[*CELL, "image_id"]])
    ok = rows[rows["status"].eq("ok") & image_of.isin(images.index[images["ok"]])]
    means = ok.pivot_table(index=CELL, columns="metric", values="value", aggfunc="mean")
    counts = images.groupby(CELL).agg(
        n_images=("ok", "sum"), n_failed=("failed", "sum"), note=("error", "first")
    )
    counts["n_skipped"] = images.groupby(CELL).size() - counts["n_images"] - counts["n_failed"]
    counts["note"] = counts["note"].fillna("")
    counts = counts[["n_images", "n_failed", "n_skipped", "note"]]
    table = counts.join(means, how="left").reset_index()
    table.columns.name = None
    for metric in rows["metric"].unique():
        if metric not in table:
            table[metric] = float("nan")
    table = _with_published(table)
    metric_cols = [m for m in ("psnr", "ssim", "lpips") if m in table] + sorted(
        set(rows["metric"]) - {"psnr", "ssim", "lpips"}
    )
    counts_cols = ["n_images", "n_failed", "n_skipped"]
    rest = [c for c in table if c not in {*CELL, *metric_cols, *counts_cols, "note"}]
    table = table[[*CELL, *metric_cols, *counts_cols, *rest, "note"]]
    return _ordered(table, CELL)


def _image_statuses(rows: pd.DataFrame) -> pd.DataFrame:
    """Per image: `failed` if any metric failed, else `ok` if any scored (else skipped), and
    its first non-empty error (NaN if none), in vectorised groupbys."""
    flags = rows[[*CELL, "image_id"]].assign(
        failed=rows["status"].eq("failed"),
        scored=rows["status"].eq("ok"),
        error=rows["error"].where(rows["error"].astype(bool) & rows["error"].notna()),
    )
    images = flags.groupby([*CELL, "image_id"]).agg(
        failed=("failed", "any"), scored=("scored", "any"), error=("error", "first")
    )
    images["ok"] = images["scored"] & ~images["failed"]
    return images


def _with_published(table: pd.DataFrame) -> pd.DataFrame:
    """Published value and Δ per row. A published row naming a checkpoint (weights tag)
    applies to that checkpoint only; one without a tag applies to any checkpoint of the
    model; an exact tag match wins over an untagged row."""
    pub = load_published()
    pub = pub.assign(protocol_key=pub["protocol"])
    table = table.assign(
        protocol_key=table["protocol"] + "@" + table["protocol_version"].astype(str),
        _row=range(len(table)),
    )
    keys = ["model", "dataset", "scale", "protocol_key"]
    for metric in ("psnr", "ssim"):
        if metric not in table:
            continue
        ref = pub[pub["metric"] == metric][["method", "weights_tag", *keys[1:], "value"]]
        ref = ref.rename(
            columns={"method": "model", "weights_tag": "_tag", "value": f"{metric}_published"}
        )
        merged = table.merge(ref, on=keys, how="left")
        tag = merged["_tag"].fillna("")
        applies = (tag == "") | (tag == merged["weights_tag"])
        merged.loc[~applies, f"{metric}_published"] = float("nan")
        rank = (~applies).astype(int) * 2 + (tag == "").astype(int)  # exact, untagged, other
        merged = merged.assign(_rank=rank).sort_values(["_row", "_rank"], kind="stable")
        table = merged.drop_duplicates("_row").drop(columns=["_tag", "_rank"])
        table[f"{metric}_delta"] = table[metric] - table[f"{metric}_published"]
    return table.drop(columns=["protocol_key", "_row"])


def _ordered(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    order = table["dataset"].map(lambda d: DATASET_ORDER.get(d, len(DATASET_ORDER)))
    table = table.assign(_order=order).sort_values(
        ["model", "weights_tag", "_order", "dataset", "scale", *keys[4:]]
    )
    return table.drop(columns="_order").reset_index(drop=True)


def with_costs(table: pd.DataFrame, complexity: pd.DataFrame, timing: pd.DataFrame) -> pd.DataFrame:
    """Add each row's newest parameters/MACs (with the input they are stated for) and
    forward latency (median, p90, device, threads, input) from the store's cost tables."""
    key = ["model", "weights_sha256", "scale"]
    if not complexity.empty:
        cost = complexity.sort_values("created_at").drop_duplicates(key, keep="last")
        cost = cost[[*key, "params", "macs", "input_shape"]].rename(
            columns={"input_shape": "macs_input"}
        )
        table = table.merge(cost, on=key, how="left")
    if not timing.empty:
        latest = timing.sort_values("created_at").drop_duplicates(key, keep="last")
        latest = latest.assign(
            timing_input=latest["lr_h"].astype(str) + "x" + latest["lr_w"].astype(str)
        )
        latest = latest[[*key, "median_ms", "p90_ms", "device", "threads", "timing_input"]]
        table = table.merge(latest.rename(columns={"device": "timing_device"}), on=key, how="left")
    return table
