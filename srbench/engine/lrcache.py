"""On-disk cache of protocol LR images, so a second model on the same data never resizes again.

An entry is the LR of one HR file at one scale under one protocol version, keyed by the
HR file's SHA-256, the scale, `protocol@version`, the kind of device that made it (CPU and
CUDA float64 sums may round a pixel at an exact .5 tie differently, so a run's LR never
depends on which device filled the cache) and this file format's version, under
`$SRBENCH_HOME/lr-cache/<2 hex>/<key>.lr`. A file holds a magic line, a JSON header (the key
fields, dtype, shape, and the SHA-256 of the payload) and the raw pixels. Every read checks
the header against the key and the payload against its hash: a stale, truncated or
corrupt entry is reported, deleted and regenerated, never used. Writes go to a temporary
file that is renamed into place, so a reader never sees half an entry. A cache directory
that cannot be written (read-only, full, not a directory) turns writing off for the rest
of the run with one warning; the run goes on uncached.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from srbench.weights import srbench_home

__all__ = ["FORMAT_VERSION", "CacheInfo", "LrCache", "LrKey", "lr_cache_dir"]

FORMAT_VERSION = 1
MAGIC = b"srbench-lr\n"
SUFFIX = ".lr"
_DTYPES = {"uint8": torch.uint8, "float64": torch.float64, "float32": torch.float32}

log = logging.getLogger("srbench")


def lr_cache_dir() -> Path:
    """Where LR images are cached: `<srbench_home()>/lr-cache`."""
    return srbench_home() / "lr-cache"


@dataclass(frozen=True, slots=True)
class LrKey:
    """What an LR image depends on: the HR bytes, the scale, the protocol, the device kind."""

    image_sha256: str
    scale: int
    protocol: str  # `name@version`
    device: str  # "cpu" or "cuda": the kind of device that made it

    @property
    def digest(self) -> str:
        """The entry's file stem: SHA-256 of the key fields and the format version."""
        text = f"{FORMAT_VERSION}|{self.image_sha256}|{self.scale}|{self.protocol}|{self.device}"
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """What `srbench cache info` prints: the folder, its entries and their total size."""

    path: Path
    entries: int
    size_bytes: int

    @classmethod
    def of(cls, path: Path, files: list[Path]) -> CacheInfo:
        """The folder `path` holding the entry `files`, and their total size."""
        return cls(path, len(files), sum(f.stat().st_size for f in files))


class LrCache:
    """Get and put LR tensors by `LrKey`; safe to share between threads."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else lr_cache_dir()
        self._lock = threading.Lock()
        self._writable = True
        self.hits = 0
        self.misses = 0

    def path(self, key: LrKey) -> Path:
        """The entry's file (it may not exist)."""
        digest = key.digest
        return self.root / digest[:2] / f"{digest}{SUFFIX}"

    def get(self, key: LrKey) -> Tensor | None:
        """The cached LR for `key`, or None if absent; a bad entry is deleted and reported."""
        path = self.path(key)
        try:
            blob = path.read_bytes()
        except OSError:
            self._count(hit=False)
            return None
        try:
            lr = _decode(blob, key)
        except ValueError as exc:
            log.warning("LR cache entry %s is unusable (%s); regenerating it", path, exc)
            path.unlink(missing_ok=True)
            self._count(hit=False)
            return None
        self._count(hit=True)
        return lr

    def put(self, key: LrKey, lr: Tensor) -> None:
        """Store `lr` for `key`; if the cache cannot be written, warn once and stop writing."""
        if not self._writable:
            return
        try:
            _atomic_write(self.path(key), _encode(lr, key))
        except OSError as exc:
            with self._lock:
                if not self._writable:
                    return
                self._writable = False
            reason = "it is full" if exc.errno == errno.ENOSPC else f"{exc.strerror or exc}"
            log.warning(
                "cannot write the LR cache at %s (%s); this run continues without caching "
                "LR images (set SRBENCH_HOME to a writable folder, or free space)",
                self.root,
                reason,
            )

    def info(self) -> CacheInfo:
        """Entries and bytes currently in the cache folder."""
        return CacheInfo.of(self.root, self._entries())

    def clear(self) -> CacheInfo:
        """Delete every entry; returns what was there."""
        before = self.info()
        for path in self._entries():
            path.unlink(missing_ok=True)
        for folder in sorted(p for p in self.root.glob("*") if p.is_dir()):
            if not any(folder.iterdir()):
                folder.rmdir()
        return before

    def _entries(self) -> list[Path]:
        return sorted(self.root.glob(f"*/*{SUFFIX}")) if self.root.is_dir() else []

    def _count(self, *, hit: bool) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1


def _encode(lr: Tensor, key: LrKey) -> tuple[bytes, memoryview]:
    """The file's head (magic line and header) and its payload, the tensor's own memory."""
    dtype = str(lr.dtype).removeprefix("torch.")
    if dtype not in _DTYPES:
        raise ValueError(f"the LR cache stores {sorted(_DTYPES)}, not {dtype}")
    payload = memoryview(lr.detach().cpu().contiguous().numpy()).cast("B")
    header = {
        "format": FORMAT_VERSION,
        "image_sha256": key.image_sha256,
        "scale": key.scale,
        "protocol": key.protocol,
        "device": key.device,
        "dtype": dtype,
        "shape": list(lr.shape),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    return MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n", payload


def _decode(blob: bytes, key: LrKey) -> Tensor:
    """The tensor in `blob` after checking it belongs to `key`; ValueError says what is wrong."""
    if not blob.startswith(MAGIC):
        raise ValueError("not an srbench LR cache file")
    end = blob.find(b"\n", len(MAGIC))
    try:
        header = json.loads(blob[len(MAGIC) : end])
        expected = (FORMAT_VERSION, key.image_sha256, key.scale, key.protocol, key.device)
        found = tuple(header[k] for k in ("format", "image_sha256", "scale", "protocol", "device"))
        dtype, shape = _DTYPES[header["dtype"]], tuple(int(n) for n in header["shape"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"unreadable header ({exc})") from exc
    if found != expected:
        raise ValueError(f"stale entry: it holds {found}, not {expected}")
    payload = memoryview(blob)[end + 1 :]
    if hashlib.sha256(payload).hexdigest() != header["payload_sha256"]:
        raise ValueError("its pixels do not match their SHA-256 (truncated or corrupt)")
    count = 1
    for n in shape:
        count *= n
    if len(payload) != count * dtype.itemsize:
        raise ValueError(f"{len(payload)} bytes of pixels for shape {shape}")
    return torch.frombuffer(bytearray(payload), dtype=dtype).view(shape)


def _atomic_write(path: Path, parts: tuple[bytes, memoryview]) -> None:
    """Write `parts` in order to a temporary file beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with tmp.open("wb") as fh:
            for part in parts:
                fh.write(part)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
