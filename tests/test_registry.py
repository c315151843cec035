"""Registry semantics: decorators, lazy sources, entry points, collisions, unknown names."""

from __future__ import annotations

import importlib.metadata
import sys
import textwrap
from pathlib import Path

import pytest
from torch import Tensor, nn

from srbench.errors import ConfigError, DuplicateNameError, UnknownNameError
from srbench.registry import Registry, load_plugin, models, register_model


def _fresh(builtins: dict[str, str] | None = None, group: str | None = None) -> Registry:
    return Registry("model", group, builtins or {})


class Tiny(nn.Module):
    """Tiny test model."""

    def __init__(self, *, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: Tensor) -> Tensor:
        return x.repeat_interleave(self.scale, -1).repeat_interleave(self.scale, -2)


def test_decorator_registers_and_get_returns_object() -> None:
    reg = _fresh()
    reg.register("tiny")(Tiny)
    assert reg.get("tiny") is Tiny
    assert reg.get("TINY") is Tiny
    assert reg.names() == ["tiny"]


def test_reregistering_the_same_object_is_a_no_op() -> None:
    reg = _fresh()
    reg.register("tiny", Tiny)
    reg.register("tiny", Tiny)
    assert reg.get("tiny") is Tiny


def test_collision_names_both_origins() -> None:
    reg = _fresh()
    reg.register("tiny", Tiny)

    class Other(Tiny):
        """Another."""

    with pytest.raises(
        DuplicateNameError, match=r"'tiny' is registered by .*test_registry\.py:\d+"
    ):
        reg.register("tiny", Other)
    reg.register("tiny", Other, replace=True)
    assert reg.get("tiny") is Other


def test_unknown_name_suggests_close_matches_and_the_listing_command() -> None:
    reg = _fresh({"edsr-baseline": "x:y", "edsr": "x:z"})
    with pytest.raises(UnknownNameError, match=r"Did you mean 'edsr-baseline'") as info:
        reg.get("edsr-basline")
    assert "srbench list models" in str(info.value)


def test_names_must_be_kebab_case() -> None:
    with pytest.raises(ValueError, match="kebab-case"):
        _fresh().register("My_Model", Tiny)


def test_model_validation_requires_module_with_scale_keyword() -> None:
    class NoScale(nn.Module):
        def __init__(self) -> None:
            super().__init__()

    with pytest.raises(ConfigError, match="must accept the keyword argument `scale`"):
        models.register("no-scale-model", NoScale)
    with pytest.raises(ConfigError, match=r"not an nn\.Module"):
        models.register("not-a-module", object)


def test_lazy_builtin_is_imported_only_on_get(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lazy_plugin_mod.py").write_text(
        textwrap.dedent('''
        from torch import nn
        class Lazy(nn.Module):
            """Lazily imported."""
            def __init__(self, *, scale): super().__init__()
    ''')
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = _fresh({"lazy": "lazy_plugin_mod:Lazy"})
    assert "lazy_plugin_mod" not in sys.modules
    assert reg.names() == ["lazy"]
    assert "lazy_plugin_mod" not in sys.modules
    assert reg.get("lazy").__name__ == "Lazy"


def test_broken_plugin_fails_only_when_used() -> None:
    reg = _fresh({"broken": "no_such_module_xyz:Thing", "up": "srbench.models.bicubic:Bicubic"})
    entries = {e.name: e for e in reg.entries()}
    assert entries["broken"].description.startswith("BROKEN: ModuleNotFoundError")
    assert reg.get("up").__name__ == "Bicubic"
    with pytest.raises(ConfigError, match="failed to load"):
        reg.get("broken")


class _FakeDist:
    name = "my-sr"
    version = "0.3"


def _fake_entry_points(monkeypatch: pytest.MonkeyPatch, group: str, items: dict[str, str]) -> None:
    eps = [
        importlib.metadata.EntryPoint(name=n, value=v, group=group)._for(_FakeDist())  # type: ignore[attr-defined]
        for n, v in items.items()
    ]
    real = importlib.metadata.entry_points

    def fake(**kwargs: str) -> object:
        return eps if kwargs.get("group") == group else real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)


@pytest.fixture
def scratch_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test register into the global model registry and leave no trace behind."""
    monkeypatch.setattr(models, "_entries", dict(models._entries))
    monkeypatch.setattr(models, "_entry_points_loaded", models._entry_points_loaded)


def _write_plugin(tmp_path: Path, name: str, decorated: str) -> None:
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(f'''
        from torch import nn
        from srbench import register_model
        {decorated}
        class Upsampler(nn.Module):
            """Third-party nearest upsampler."""
            def __init__(self, *, scale):
                super().__init__()
                self.scale = scale
            def forward(self, x):
                return x.repeat_interleave(self.scale, -1).repeat_interleave(self.scale, -2)
    ''')
    )


def test_entry_point_plugin_without_decorator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_plugin(tmp_path, "plain_sr_plugin", "")
    monkeypatch.syspath_prepend(str(tmp_path))
    _fake_entry_points(monkeypatch, "test.models", {"plain-up": "plain_sr_plugin:Upsampler"})
    reg = Registry("model", "test.models", {})
    entry = {e.name: e for e in reg.entries()}["plain-up"]
    assert entry.origin == "my-sr 0.3 (entry point)"
    assert entry.description == "Third-party nearest upsampler."


@pytest.mark.usefixtures("scratch_models")
def test_entry_point_name_must_match_decorator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_plugin(tmp_path, "named_sr_plugin", '@register_model("decorated-up")')
    monkeypatch.syspath_prepend(str(tmp_path))
    _fake_entry_points(monkeypatch, "srbench.models", {"other-name": "named_sr_plugin:Upsampler"})
    reg_before = set(models.names())
    models._entry_points_loaded = False
    with pytest.raises(ConfigError, match="differs from the decorator's name 'decorated-up'"):
        models.get("other-name")
    assert reg_before <= set(models.names())


@pytest.mark.usefixtures("scratch_models")
def test_load_plugin_file_registers_its_models(tmp_path: Path) -> None:
    _write_plugin(tmp_path, "file_plugin", '@register_model("file-plugin-up")')
    load_plugin(str(tmp_path / "file_plugin.py"))
    assert models.get("file-plugin-up").__doc__ == "Third-party nearest upsampler."
    with pytest.raises(ConfigError, match="no file"):
        load_plugin(str(tmp_path / "missing.py"))
    with pytest.raises(ConfigError, match="cannot import 'no_such_plugin_module'"):
        load_plugin("no_such_plugin_module")


@pytest.mark.usefixtures("scratch_models")
def test_simplest_plugin_runs_through_the_decorator() -> None:
    @register_model("test-nearest-x")
    class Nearest(Tiny):
        """Nearest-neighbour upscaling for tests."""

    assert models.get("test-nearest-x") is Nearest
