"""Results store: per-image transactions, resume keys, schema guard, corruption, concurrency."""

from __future__ import annotations

import multiprocessing
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from srbench.errors import StoreError
from srbench.store.schema import SCHEMA_VERSION, ResultRow
from srbench.store.sqlite import STORE_FILE, Store, utc_now


def _row(run_id: str, image: str, metric: str = "psnr", value: float | None = 30.0) -> ResultRow:
    return ResultRow(
        run_id=run_id,
        model="bicubic",
        model_version="v1",
        weights_tag="",
        weights_sha256="",
        dataset="Set5",
        dataset_manifest_sha256="m",
        image_id=image,
        image_sha256=f"sha-{image}",
        scale=2,
        protocol="paper",
        protocol_version=1,
        metric=metric,
        metric_version=1,
        value=value,
        status="ok" if value is not None else "failed",
        error=None if value is not None else "boom",
        dtype="float64",
        device="cpu",
        created_at=utc_now(),
    )


def _done(store: Store) -> set[tuple[str, str, int]]:
    return store.done(
        model="bicubic",
        model_version="v1",
        weights_sha256="",
        dataset="Set5",
        scale=2,
        protocol="paper",
        protocol_version=1,
    )


def test_rows_round_trip_with_run_provenance(tmp_path: Path) -> None:
    store = Store(tmp_path)
    run_id = store.start_run("srbench run", {"models": ["bicubic"]}, "cpu")
    store.write([_row(run_id, "baby"), _row(run_id, "baby", "ssim", 0.9)])
    store.finish_run(run_id, "done")
    rows = store.results()
    assert sorted(rows["metric"]) == ["psnr", "ssim"]
    assert set(rows["torch"]) and rows["num_threads"].iloc[0] >= 1
    runs = store.runs()
    assert runs.loc[0, "status"] == "done" and runs.loc[0, "schema_version"] == SCHEMA_VERSION
    assert '"models": ["bicubic"]' in runs.loc[0, "config"]


def test_done_counts_only_ok_rows(tmp_path: Path) -> None:
    store = Store(tmp_path)
    run_id = store.start_run("", {}, "cpu")
    store.write([_row(run_id, "baby"), _row(run_id, "bird", value=None)])
    assert _done(store) == {("sha-baby", "psnr", 1)}
    store.write([_row(run_id, "bird")])  # a rerun replaces the failed row
    assert _done(store) == {("sha-baby", "psnr", 1), ("sha-bird", "psnr", 1)}
    assert len(store.results()) == 2


def test_a_failed_transaction_writes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    run_id = store.start_run("", {}, "cpu")
    bad = replace(_row(run_id, "bird", "ssim"), status=None)  # violates NOT NULL
    with pytest.raises(sqlite3.IntegrityError):
        store.write([_row(run_id, "bird"), bad])
    assert store.results().empty


def test_newer_schema_is_refused_with_both_versions(tmp_path: Path) -> None:
    Store(tmp_path).close()
    db = sqlite3.connect(tmp_path / STORE_FILE)
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=rf"schema {SCHEMA_VERSION + 1}.*schema {SCHEMA_VERSION}"):
        Store(tmp_path)


def test_corrupt_store_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / STORE_FILE
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match="not a readable srbench store"):
        Store(tmp_path)
    assert path.read_bytes() == garbage


def test_missing_store_is_an_error_when_reading(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no results store"):
        Store(tmp_path / "nowhere", create=False)


def _writer(out: str, tag: str, n: int) -> None:
    store = Store(Path(out))
    run_id = store.start_run(tag, {}, "cpu")
    for i in range(n):
        store.write([_row(run_id, f"{tag}-{i}"), _row(run_id, f"{tag}-{i}", "ssim", 0.5)])
    store.finish_run(run_id, "done")


def test_two_concurrent_writers_do_not_corrupt_the_store(tmp_path: Path) -> None:
    Store(tmp_path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), t, 40)) for t in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    rows = Store(tmp_path).results()
    assert len(rows) == 160
    assert rows.groupby("run_id").size().tolist() == [80, 80]
