"""The cell-by-cell runner (`srbench.engine.cells`), driven through a stub executor."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from srbench.engine.cells import run_cells
from srbench.engine.config import RunConfig
from srbench.executors import ExecutorOptions, TaskFailure
from srbench.executors.base import Executor
from srbench.store.sqlite import Store


class _FailsEveryCell(Executor):
    """Reports every task as failed after its retries, as a dead worker would be reported."""

    def map(
        self, fn: Callable[[Any, Any], Any], tasks: Sequence[Any], shared: Any
    ) -> Iterator[tuple[int, Any]]:
        for index in range(len(tasks)):
            yield index, TaskFailure(error="RuntimeError: worker process died", attempts=3)


def test_a_cell_that_failed_as_a_whole_is_said_on_the_driver(
    tmp_path: Path, make_images: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "data"
    make_images(root / "Set5", [(24, 24), (30, 26), (26, 30), (28, 28), (32, 24)])
    config = RunConfig(
        models=("bicubic",), datasets=("set5",), scales=(2, 3), out=tmp_path / "out", data_root=root
    )
    summary = run_cells(config, _FailsEveryCell(ExecutorOptions()))
    err = capsys.readouterr().err
    assert len(summary.failures) == 2 and summary.computed == 0
    for scale in (2, 3):
        said = (
            f"srbench: failed bicubic Set5 x{scale}: RuntimeError: worker process died "
            "(failed 3 time(s); nothing of it was stored)"
        )
        assert said in err
    store = Store(tmp_path / "out", create=False)
    try:
        assert store.results().empty
    finally:
        store.close()
