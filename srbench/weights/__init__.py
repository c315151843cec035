"""Checkpoints as data (a `WeightsEnum` per model), a checksummed local cache, safe loading.

Importing this package loads no weights and imports neither scipy nor the network stack.
"""

from srbench.weights.cache import cache_path as cache_path
from srbench.weights.cache import srbench_home as srbench_home
from srbench.weights.cache import verify_cached as verify_cached
from srbench.weights.catalog import by_digest as by_digest
from srbench.weights.catalog import checkpoints as checkpoints
from srbench.weights.catalog import resolve as resolve
from srbench.weights.catalog import select_weights as select_weights
from srbench.weights.catalog import weights_choices as weights_choices
from srbench.weights.load import install as install
from srbench.weights.load import load_checkpoint as load_checkpoint
from srbench.weights.load import load_into as load_into
from srbench.weights.load import load_state_dict_file as load_state_dict_file
from srbench.weights.schema import Published as Published
from srbench.weights.schema import Weights as Weights
from srbench.weights.schema import WeightsEnum as WeightsEnum
from srbench.weights.schema import weights_enum as weights_enum
from srbench.weights.unpickle import read_pickled_checkpoint as read_pickled_checkpoint

__all__ = [
    "Published",
    "Weights",
    "WeightsEnum",
    "by_digest",
    "cache_path",
    "checkpoints",
    "install",
    "load_checkpoint",
    "load_into",
    "load_state_dict_file",
    "read_pickled_checkpoint",
    "resolve",
    "select_weights",
    "srbench_home",
    "verify_cached",
    "weights_choices",
    "weights_enum",
]
