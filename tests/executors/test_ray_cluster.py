"""The `ray` executor on a local Ray instance: same numbers as `local`, retries, cancelling."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from srbench.engine.run import RunConfig, run
from srbench.errors import ConfigError
from srbench.executors import ExecutorOptions, TaskFailure, make_executor
from srbench.registry import load_plugin
from srbench.store.sqlite import Store
from srbench.train.ablate import AblationConfig, ablate

pytestmark = pytest.mark.filterwarnings("ignore:Set(5|14) has .* images, expected")

VALUE_KEY = ["model", "weights_sha256", "dataset", "image_id", "scale", "metric"]


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[object]:
    """A local Ray instance with 2 CPUs (workers inherit this process's SRBENCH_HOME)."""
    ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'srbench[ray]'")
    here = str(Path(__file__).parent)  # workers import this module's task functions
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level="warning",
        runtime_env={"env_vars": {"PYTHONPATH": here}},
    )
    yield ray
    ray.shutdown()


def _ray(**options: object):  # type: ignore[no-untyped-def]
    return make_executor("ray", ExecutorOptions(**options))  # type: ignore[arg-type]


def _square_plus(task: int, shared: int) -> int:
    return task * task + shared


def _dies_once(task: int, folder: Path) -> int:
    marker = folder / f"{task}.attempts"
    n = len(marker.read_text()) if marker.exists() else 0
    marker.write_text("x" * (n + 1))
    if n == 0:
        import os

        os._exit(7)  # the worker dies mid-task, as a preempted node would
    return task


def _slow(task: int, folder: Path) -> int:
    if task > 0:
        time.sleep(20)
    (folder / f"{task}.done").touch()
    return task


def _values(out: Path) -> pd.DataFrame:
    store = Store(out, create=False)
    try:
        rows = store.results()
    finally:
        store.close()
    return rows[[*VALUE_KEY, "status", "value"]].sort_values(VALUE_KEY).reset_index(drop=True)


def test_ray_missing_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ConfigError) as info:
        _ray()
    assert "pip install 'srbench[ray]'" in str(info.value.hint)


def test_an_address_where_nothing_listens_fails_fast() -> None:
    pytest.importorskip("ray", reason="ray is not installed: pip install 'srbench[ray]'")
    with pytest.raises(ConfigError) as info:  # at once, not after ray.init's minutes of retries
        _ray(address="127.0.0.1:1")
    assert "--ray-address 127.0.0.1:1: no Ray head answers there" in str(info.value)


def test_processes_is_refused_for_ray(ray_instance: object) -> None:
    with pytest.raises(ConfigError, match="--processes"):
        _ray(processes=2)


def test_map_uses_shared_by_reference_and_returns_every_result(ray_instance: object) -> None:
    with _ray() as executor:
        assert dict(executor.map(_square_plus, [1, 2, 3], 10)) == {0: 11, 1: 14, 2: 19}
        assert executor.describe()["executor"] == "ray"


def test_a_killed_task_is_retried_then_recorded_as_failed(
    ray_instance: object, tmp_path: Path
) -> None:
    with _ray(retries=1) as executor:
        assert dict(executor.map(_dies_once, [4], tmp_path)) == {0: 4}
    assert (tmp_path / "4.attempts").read_text() == "xx"
    with _ray(retries=0) as executor:
        (failure,) = dict(executor.map(_dies_once, [5], tmp_path)).values()
    assert isinstance(failure, TaskFailure) and (tmp_path / "5.attempts").read_text() == "x"


def test_stopping_the_driver_cancels_outstanding_tasks(
    ray_instance: object, tmp_path: Path
) -> None:
    with _ray() as executor:
        results = executor.map(_slow, [0, 1, 2], tmp_path)
        assert next(results) == (0, 0)
        results.close()  # what Ctrl-C does to the driver's loop
    time.sleep(1)
    assert not list(tmp_path.glob("[12].done"))


def _sweep_config(root: Path, out: Path) -> RunConfig:
    return RunConfig(
        models=("bicubic", "exec-test-crashy"),
        datasets=("set5", "set14"),
        scales=(2, 3),
        data_root=root,
        out=out,
        timing="off",
    )


def test_evaluation_sweep_on_ray_stores_exactly_the_local_results(
    ray_instance: object, tmp_path: Path, make_images: Callable[..., Path], crashy_plugin: Path
) -> None:
    root = tmp_path / "data"
    make_images(root / "Set5", [(36, 30), (30, 36), (24, 24)], seed=1)
    make_images(root / "Set14", [(30, 30), (42, 36)], seed=2)
    load_plugin(str(crashy_plugin))
    (tmp_path / "crashy.attempts").write_text("x")  # the local run must not die
    local = run(_sweep_config(root, tmp_path / "local"))
    assert local.ok and local.computed == 20
    (tmp_path / "crashy.attempts").unlink()  # now the first Ray cell of the model dies once
    with _ray(retries=1) as executor:
        summary = run(_sweep_config(root, tmp_path / "ray"), executor=executor)
    assert summary.ok and summary.computed == 20, summary.failures
    assert (tmp_path / "crashy.attempts").read_text().startswith("xx")
    ours, theirs = _values(tmp_path / "ray"), _values(tmp_path / "local")
    assert len(ours) == 40 and (ours["status"] == "ok").all()
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    store = Store(tmp_path / "ray", create=False)
    runs = store.runs()
    store.close()
    assert '"executor": "ray"' in runs["config"].iloc[-1]
    with _ray() as executor:  # a rerun skips every stored cell
        again = run(_sweep_config(root, tmp_path / "ray"), executor=executor)
    assert again.computed == 0 and again.reused == 20


def test_ablation_sweep_on_ray_equals_the_local_sweep(
    ray_instance: object,
    tmp_path: Path,
    make_images: Callable[..., Path],
    tiny_drn: dict,
) -> None:
    make_images(tmp_path / "data" / "Set5", [(24, 20), (20, 24)], seed=5)

    config = AblationConfig(
        models=("drn-gs",),
        variants={"drn-gs": {"l1": "l1", "gs+dual": "gs+dual"}},
        data=make_images(tmp_path / "train", [(32, 32)] * 3),
        data_root=tmp_path / "data",
        out=tmp_path / "sweep",  # the same folder for both: checkpoints record it
        datasets=("set5",),
        scales=(2,),
        seeds=(0, 1),
        model_options={"drn-gs": tiny_drn},
        train={"steps": 3, "batch_size": 2, "patch_size": 16, "val_images": 0},
    )
    local = ablate(config, echo=lambda _: None)
    local_values = _values(tmp_path / "sweep" / "eval")
    shutil.rmtree(tmp_path / "sweep")
    with _ray(cpus_per_task=1) as executor:
        distributed = ablate(config, echo=lambda _: None, executor=executor)
    assert not distributed.failures
    assert distributed.tables == local.tables
    # checkpoints record wall times, so their names differ: compare by (variant, seed)
    theirs = _by_job(local_values, local.runs)
    ours = _by_job(_values(tmp_path / "sweep" / "eval"), distributed.runs)
    assert len(ours) == 2 * 2 * 2 * 2  # variants x seeds x images x metrics
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)


def _by_job(values: pd.DataFrame, runs: list[dict]) -> pd.DataFrame:
    job = {r["name"]: f"{r['label']} s{r['seed']}" for r in runs}
    values = values.assign(model=values["model"].map(job)).drop(columns="weights_sha256")
    return values.sort_values(["model", "image_id", "metric"]).reset_index(drop=True)


def test_ctrl_c_keeps_finished_cells_and_marks_the_run_interrupted(
    ray_instance: object, tmp_path: Path, make_images: Callable[..., Path]
) -> None:
    root = tmp_path / "data"
    make_images(root / "Set5", [(36, 30), (30, 36)], seed=3)
    config = RunConfig(
        models=("bicubic",),
        datasets=("set5",),
        scales=(2, 3, 4),
        data_root=root,
        out=tmp_path / "out",
        timing="off",
    )

    def interrupt(_: int) -> None:
        raise KeyboardInterrupt  # as if Ctrl-C arrived after the first finished cell

    with _ray() as executor, pytest.raises(KeyboardInterrupt):
        run(config, executor=executor, progress=interrupt)
    store = Store(tmp_path / "out", create=False)
    rows, runs = store.results(), store.runs()
    store.close()
    assert runs["status"].tolist() == ["interrupted"]
    assert rows["scale"].nunique() == 1 and len(rows) == 2 * 2  # one cell: 2 images x 2 metrics
    with _ray() as executor:
        again = run(config, executor=executor)
    assert again.reused == 2 and again.computed == 4
