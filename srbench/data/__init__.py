"""Getting images in: decoding, the test sets and their layouts, manifests, downloads."""

from srbench.data.download import datasets_cache_dir as datasets_cache_dir
from srbench.data.download import fetch_dataset as fetch_dataset
from srbench.data.io import read_image as read_image
from srbench.data.io import sha256_file as sha256_file
from srbench.data.manifest import ImageCheck as ImageCheck
from srbench.data.manifest import VerifyReport as VerifyReport
from srbench.data.manifest import verify as verify
from srbench.data.manifest import write_manifest as write_manifest
from srbench.data.sets import B100 as B100
from srbench.data.sets import SAMPLES as SAMPLES
from srbench.data.sets import SET5 as SET5
from srbench.data.sets import SET14 as SET14
from srbench.data.sets import URBAN100 as URBAN100
from srbench.data.sets import DatasetSpec as DatasetSpec
from srbench.data.sets import ImageRef as ImageRef
from srbench.data.sets import resolve_data_root as resolve_data_root

__all__ = [
    "B100",
    "SAMPLES",
    "SET5",
    "SET14",
    "URBAN100",
    "DatasetSpec",
    "ImageCheck",
    "ImageRef",
    "VerifyReport",
    "datasets_cache_dir",
    "fetch_dataset",
    "read_image",
    "resolve_data_root",
    "sha256_file",
    "verify",
    "write_manifest",
]
