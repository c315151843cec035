"""Record layout of the results store; `SCHEMA_VERSION` guards against newer stores.

Every run keeps its own rows (the run id is part of the unique key), so `--force` reruns
and `srbench results diff` see history; reports take the newest row per image and metric.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

SCHEMA_VERSION = 1
STORE_FILE = "results.sqlite"  # the store's file in a results directory

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS run (
    run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL,
    command TEXT, config TEXT, srbench_version TEXT, git_commit TEXT, git_dirty INTEGER,
    python TEXT, torch TEXT, numpy TEXT, device TEXT, device_name TEXT, num_threads INTEGER,
    machine TEXT, schema_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS result (
    run_id TEXT NOT NULL REFERENCES run(run_id),
    model TEXT NOT NULL, model_version TEXT NOT NULL,
    weights_tag TEXT NOT NULL, weights_sha256 TEXT NOT NULL,
    dataset TEXT NOT NULL, dataset_manifest_sha256 TEXT NOT NULL,
    image_id TEXT NOT NULL, image_sha256 TEXT NOT NULL,
    scale INTEGER NOT NULL, protocol TEXT NOT NULL, protocol_version INTEGER NOT NULL,
    metric TEXT NOT NULL, metric_version INTEGER NOT NULL,
    value REAL, status TEXT NOT NULL, error TEXT,
    dtype TEXT NOT NULL, device TEXT NOT NULL, created_at TEXT NOT NULL,
    UNIQUE (run_id, model, model_version, weights_sha256, dataset, image_sha256, scale,
            protocol, protocol_version, metric, metric_version)
);
CREATE INDEX IF NOT EXISTS result_cell ON result (model, dataset, scale, protocol);
CREATE TABLE IF NOT EXISTS timing (
    run_id TEXT NOT NULL REFERENCES run(run_id), model TEXT NOT NULL,
    weights_sha256 TEXT NOT NULL, scale INTEGER NOT NULL, device TEXT NOT NULL,
    dtype TEXT NOT NULL, lr_h INTEGER NOT NULL, lr_w INTEGER NOT NULL, batch INTEGER NOT NULL,
    timer TEXT NOT NULL, warmup INTEGER NOT NULL, repeats INTEGER NOT NULL,
    median_ms REAL NOT NULL, p90_ms REAL NOT NULL, min_ms REAL NOT NULL, mean_ms REAL NOT NULL,
    std_ms REAL NOT NULL, peak_mem_bytes INTEGER, threads INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS complexity (
    run_id TEXT NOT NULL REFERENCES run(run_id), model TEXT NOT NULL,
    weights_sha256 TEXT NOT NULL, scale INTEGER NOT NULL, params INTEGER NOT NULL,
    macs INTEGER NOT NULL, flops INTEGER NOT NULL, input_shape TEXT NOT NULL,
    flops_convention TEXT NOT NULL, counter TEXT NOT NULL, created_at TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultRow:
    """One (image × metric) measurement: the only primary quality record."""

    run_id: str
    model: str
    model_version: str
    weights_tag: str
    weights_sha256: str
    dataset: str
    dataset_manifest_sha256: str
    image_id: str
    image_sha256: str
    scale: int
    protocol: str
    protocol_version: int
    metric: str
    metric_version: int
    value: float | None
    status: str
    error: str | None
    dtype: str
    device: str
    created_at: str

    def as_dict(self) -> dict[str, object]:
        """Column name → value, in schema order."""
        return asdict(self)


RESULT_COLUMNS = tuple(ResultRow.__dataclass_fields__)
