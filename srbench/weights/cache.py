"""The local checkpoint cache: where files live, their SHA-256 checks, and download/offline text.

Layout: `$SRBENCH_HOME/weights/<model>/<tag>/<file>` (default `SRBENCH_HOME`: the platform's
user cache dir for "srbench"). A `state_dict` checkpoint is stored as published and its
SHA-256 is checked against the declared one on every load. A checkpoint that needs
converting (a .mat file, a pickled model) is stored as the converted state dict, with a
JSON record of the source file's SHA-256 and the converted file's own SHA-256; every load
checks both. Nothing here downloads unless `download` is called (`srbench weights fetch`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from srbench.errors import DataError, WeightsError
from srbench.weights.schema import Weights

__all__ = [
    "HOME_ENV",
    "cache_path",
    "check_digest",
    "digest_matches",
    "download",
    "missing_error",
    "read_record",
    "record_path",
    "srbench_home",
    "verify_cached",
    "weights_dir",
]

HOME_ENV = "SRBENCH_HOME"


def srbench_home() -> Path:
    """srbench's cache root: $SRBENCH_HOME, else the platform's user cache dir for srbench."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("srbench"))


def weights_dir() -> Path:
    """Where checkpoints are cached: `<srbench_home()>/weights`."""
    return srbench_home() / "weights"


def cache_path(model: str, weights: Weights) -> Path:
    """The cached file srbench loads for `model`'s checkpoint `weights` (it may not exist)."""
    name = weights.filename
    if weights.format != "state_dict":
        name = f"{Path(name).stem}.state_dict.pt"
    return weights_dir() / model / weights.tag / name


def record_path(path: Path) -> Path:
    """The JSON record that sits next to a converted checkpoint."""
    return path.with_name(path.name + ".json")


def digest_matches(actual: str, expected: str) -> bool:
    """True if `actual` (64 hex) is `expected`, or starts with it where only a prefix is known."""
    return actual == expected if len(expected) == 64 else actual.startswith(expected)


def _sha256(path: Path) -> str:
    from srbench.data.io import sha256_file

    try:
        return sha256_file(path)
    except DataError as exc:
        raise WeightsError(str(exc.args[0]), hint=exc.hint) from exc


def check_digest(path: Path, weights: Weights, *, what: str) -> str:
    """SHA-256 of `path` after checking it against the declared one; WeightsError if it differs."""
    actual = _sha256(path)
    if not digest_matches(actual, weights.sha256):
        size = path.stat().st_size
        want = weights.file_bytes
        sizes = f"{size:,} bytes" + (f", expected {want:,}" if want and want != size else "")
        raise WeightsError(
            f"{what}: {path} has SHA-256 {actual}, expected {weights.sha256} ({sizes})",
            hint="the file is truncated, corrupt or a different checkpoint: get it again "
            "(`srbench weights fetch`, or `srbench weights import FILE` with a good copy)",
        )
    return actual


def read_record(path: Path) -> dict[str, str]:
    """The conversion record of a cached converted checkpoint; WeightsError if unreadable."""
    record = record_path(path)
    try:
        data = json.loads(record.read_text())
        return {k: str(data[k]) for k in ("source_sha256", "sha256", "format")}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WeightsError(
            f"{path} has no readable conversion record {record.name} ({exc})",
            hint="import the original file again with `srbench weights import FILE`",
        ) from exc


def verify_cached(model: str, weights: Weights) -> tuple[Path, str]:
    """The cached file for `weights` and its source's SHA-256, after checking both digests.

    Raises:
        WeightsError: the file is missing (the text says how to get it), or a digest differs.
    """
    path = cache_path(model, weights)
    what = f"weights {model}.{weights.tag} x{weights.scale}"
    if not path.is_file():
        raise missing_error(model, weights, path)
    if weights.format == "state_dict":
        return path, check_digest(path, weights, what=what)
    record = read_record(path)
    if not digest_matches(record["source_sha256"], weights.sha256):
        raise WeightsError(
            f"{what}: {path} was converted from a file with SHA-256 {record['source_sha256']}, "
            f"not the declared {weights.sha256}",
            hint="import the right file with `srbench weights import FILE`",
        )
    actual = _sha256(path)
    if actual != record["sha256"]:
        raise WeightsError(
            f"{what}: {path} has SHA-256 {actual}, but was written as {record['sha256']}",
            hint="the cached file is corrupt or truncated: import the original again with "
            "`srbench weights import FILE`",
        )
    return path, record["source_sha256"]


def missing_error(model: str, weights: Weights, path: Path) -> WeightsError:
    """The error for a checkpoint that is not in the cache: what, where, and both fixes."""
    ref = f"{model}.{weights.tag}"
    digest = "SHA-256" if not weights.sha256_is_prefix else "SHA-256 prefix"
    place = (
        f", or put the file at {path} yourself"
        if weights.format == "state_dict"
        else f" (it checks the {digest} and converts the file to {path.name})"
    )
    return WeightsError(
        f"weights {ref} for x{weights.scale} are not in the cache: expected {path} "
        f"({digest} {weights.sha256}); the file is {weights.filename} from {weights.urls[0]}",
        hint=f"online, run `srbench weights fetch {ref} --scales {weights.scale}`; offline, "
        f"download {weights.urls[0]} on a machine with internet, then run "
        f"`srbench weights import FILE`{place}",
    )


def download(weights: Weights, folder: Path) -> Path:
    """Download `weights` into `folder` (short timeouts, each URL in turn) and check its digest.

    Raises:
        WeightsError: every URL failed; the text lists why and how to import a file instead.
    """
    import pooch

    from srbench.data.download import TIMEOUT

    known = None if weights.sha256_is_prefix else f"sha256:{weights.sha256}"
    failures = []
    for url in weights.urls:
        downloader = pooch.HTTPDownloader(progressbar=False, timeout=TIMEOUT)
        try:
            fetched = Path(
                pooch.retrieve(
                    url, known, fname=weights.filename, path=folder, downloader=downloader
                )
            )
            check_digest(fetched, weights, what=f"download of {url}")
            return fetched
        except (OSError, ValueError, WeightsError) as exc:
            failures.append(f"{url}: {str(exc).splitlines()[0] or type(exc).__name__}")
    raise WeightsError(
        f"could not download {weights.filename}:\n    " + "\n    ".join(failures),
        hint="offline or blocked? download the file on another machine and run "
        "`srbench weights import FILE`",
    )
