"""srbench: trustworthy, fast, extensible benchmarking for single-image super-resolution."""

from srbench.errors import SrbenchError as SrbenchError
from srbench.registry import load_plugin as load_plugin
from srbench.registry import register_dataset as register_dataset
from srbench.registry import register_loss as register_loss
from srbench.registry import register_metric as register_metric
from srbench.registry import register_model as register_model
from srbench.specs import MetricSpec as MetricSpec
from srbench.specs import ModelIO as ModelIO

__version__ = "0.1.0"

__all__ = [
    "MetricSpec",
    "ModelIO",
    "SrbenchError",
    "__version__",
    "load_plugin",
    "register_dataset",
    "register_loss",
    "register_metric",
    "register_model",
]
