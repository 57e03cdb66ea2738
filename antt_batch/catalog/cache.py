"""Pickled results of costly pure parses, so a run does not redo them every time: the checked catalog, and the
TOML of a large antt.toml (`cached`).

Parsing and checking the catalog cost ~40 ms, an eighth of the commune's whole monthly run; unpickling costs ~2 ms.
Its key is the TOML files' bytes, the record classes' source, the workspace's extra criteria and options; every key
also holds the package and Python versions, so an edited catalog, antt.toml or record layout is never served stale.
The cache lives in the user's cache directory (`ANTT_BATCH_CACHE` overrides it); when it cannot be read or written
the result is simply built, so the cache can never change a result. A build that raises stores nothing.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from types import MappingProxyType

from antt_batch import __version__

CACHE_ENV = "ANTT_BATCH_CACHE"


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.environ.get("LOCALAPPDATA") or Path.home() / ".cache"
    return Path(base) / "antt-batch"


def cached_build(directory: Path, files: list[str], extras: list[dict], overrides: dict, build):
    """`build()` unless a catalog built from the same inputs is cached; stores what `build()` returns."""
    try:
        parts = [(directory / name).read_bytes() for name in files]
    except OSError:
        return build()              # let the loader report the unreadable file
    parts.append(repr([extras, sorted(overrides.items())]).encode())    # TOML values: repr is exact
    return cached("catalog", parts, build)


def cached(kind: str, parts: list[bytes], build):
    """`build()` unless a result of the same `kind` built from the same `parts` is cached; stores what it returns."""
    digest = hashlib.sha256(f"{__version__}|{sys.version}|".encode())
    for part in parts:
        digest.update(part)
    path = cache_dir() / f"{kind}-{digest.hexdigest()[:32]}.pickle"
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except Exception:               # absent, truncated, from another layout: rebuild
        pass
    result = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{kind}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                _Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL).dump(result)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except Exception:               # read-only home, full disk: the cache is only an optimisation
        pass
    return result


class _Pickler(pickle.Pickler):
    """The catalog's mappings are read-only proxies, which pickle cannot store as such: store the dict, re-wrap it."""

    def reducer_override(self, obj):
        if type(obj) is MappingProxyType:
            return _proxy, (dict(obj),)
        return NotImplemented


def _proxy(mapping: dict) -> MappingProxyType:
    return MappingProxyType(mapping)
