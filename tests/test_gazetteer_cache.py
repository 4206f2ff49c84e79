"""The geocoder's index cache (flows.gazetteer_cache)."""

from __future__ import annotations

from core.geocoding import GazetteerIndex, build_index
from flows.gazetteer_cache import gazetteer_index


def test_index_is_cached_once_and_stale_versions_are_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("ICRANK_CACHE_DIR", str(tmp_path))
    stale = tmp_path / "gazetteer-500-0123456789abcdef.pickle"
    stale.write_bytes(b"an index of another code version")
    other = tmp_path / "gazetteer-1000-0123456789abcdef.pickle"
    other.write_bytes(b"another threshold")
    gazetteer_index.cache_clear()
    try:
        built = gazetteer_index()
        assert built is build_index()  # built in this process, then cached on disk
        (cached,) = tmp_path.glob("gazetteer-500-*.pickle")
        assert cached != stale and not stale.exists() and other.exists()
        gazetteer_index.cache_clear()
        loaded = gazetteer_index()
        assert isinstance(loaded, GazetteerIndex) and loaded is not built
        assert len(loaded.places) == len(built.places)
        assert loaded.words.states == built.words.states
    finally:
        gazetteer_index.cache_clear()
