"""The criteria catalog (spec §3): criteria, fields, incident categories and code lists as TOML data in this package.

Templates, validation, scoring and the report are all generated from it, so it is checked in full at load: a broken
catalog, or a broken provincial extra criterion from antt.toml, stops the command with `config-error` problems
instead of scoring wrongly. Pure stdlib so the command line starts fast. Schema: docs/catalog-schema.md.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from antt_batch.catalog.types import *  # noqa: F401,F403  (public records: Catalog, Criterion, Field, …)
from antt_batch.catalog.types import CATALOG_DIR, TABLES, Catalog


def load_catalog(extra_criteria: list[dict] | None = None, options: dict | None = None,
                 directory: str | Path | None = None) -> Catalog:
    """The checked catalog; the national one is read once. `extra_criteria` are provincial leaves (Điều 8 khoản 1)
    with the keys of a criteria.toml leaf, appended with `extra=True`; `options` override reading defaults;
    `directory` reads another copy of the TOML files (tests)."""
    if not extra_criteria and not options and directory is None:
        return _base_catalog()
    if directory is not None:      # tests' copies, often broken on purpose: never cached
        from antt_batch.catalog.loader import _build
        return _build(Path(directory), list(extra_criteria or []), dict(options or {}))
    return _cached(list(extra_criteria or []), dict(options or {}))


@lru_cache(maxsize=1)
def _base_catalog() -> Catalog:
    return _cached([], {})


def _cached(extras: list[dict], overrides: dict) -> Catalog:
    from antt_batch.catalog.cache import cached_build

    def build() -> Catalog:
        from antt_batch.catalog.loader import _build
        return _build(CATALOG_DIR, extras, overrides)
    # the records' code is part of the key too: a pickle of an older layout must never load
    files = [f"{name}.toml" for name in TABLES] + ["types.py", "loader.py"]
    return cached_build(CATALOG_DIR, files, extras, overrides, build)


def parse_bool(text: Any) -> bool | None:
    """Có/Không as users type it ("Có", "có", "x", "co", "yes", "không", "no", NFD…); None when blank or unknown."""
    if isinstance(text, bool):
        return text
    code = load_catalog().codelists["CO_KHONG"].parse(text)
    return None if code is None else code == "CO"
