"""Every notice and credit a run prints or draws, each defined once.

The synthetic-data notice comes in a few forms (console line, report banner, map footer, map
title suffix) because each place has its own room and tone; the forms are built from the same
fragments so that the wording of what the demo data are, and what they are not, lives here
only. The gazetteer credit is defined in :mod:`core.gazetteer`, next to the data it credits
(core never imports flows), and re-exported here.

This module is imported by the command line before any work starts, so it imports nothing but
the standard library: :data:`GAZETTEER_CREDIT` is fetched from core (which loads pandas) on
first access only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.gazetteer import GAZETTEER_CREDIT

__all__ = [
    "BASEMAP_CREDIT",
    "GAZETTEER_CREDIT",
    "LEAFLET_CREDIT",
    "MAP_CREDIT",
    "TILES_CREDIT",
    "MAP_SYNTHETIC_FOOTER",
    "SYNTHETIC_BANNER",
    "SYNTHETIC_DATA_KIND",
    "SYNTHETIC_INPUTS",
    "SYNTHETIC_NOTICE",
    "SYNTHETIC_TITLE_SUFFIX",
]

_WHAT_THE_DEMO_IS = "random records placed around real GeoNames cities"
_WHAT_IT_IS_NOT = "not WIPO figures"
_DEMO_WORLD = "demo world"

SYNTHETIC_NOTICE = f"Demo data are SYNTHETIC: {_WHAT_THE_DEMO_IS}, {_WHAT_IT_IS_NOT}."
"""The console line printed whenever a command works on the demo world."""

SYNTHETIC_BANNER = f"Demo data are synthetic — {_WHAT_THE_DEMO_IS} — {_WHAT_IT_IS_NOT}"
"""The banner atop, and the closing line of, the HTML report of a demo run."""

MAP_SYNTHETIC_FOOTER = f"SYNTHETIC demo data — {_WHAT_IT_IS_NOT}"
"""The footer of the map of a demo run: short, to fit beside the credit."""

SYNTHETIC_TITLE_SUFFIX = f" — SYNTHETIC {_DEMO_WORLD}"
"""Appended to the map title of a demo run."""

SYNTHETIC_DATA_KIND = f"synthetic {_DEMO_WORLD}"
"""What the report's header line says the data are in a demo run."""

SYNTHETIC_INPUTS = f"embedded {_DEMO_WORLD} (synthetic)"
"""The ``inputs`` entry of the run summary of a demo run."""

MAP_CREDIT = "Gazetteer: GeoNames (CC BY 4.0)"
"""The short form of :data:`GAZETTEER_CREDIT` that fits in the map's corner."""

BASEMAP_CREDIT = (
    "Coastlines and borders: Natural Earth 4.1.0 (public domain), via world-atlas 2.0.2"
)
"""Credit of the vendored country outlines (``flows/report/assets``) drawn on both maps."""

LEAFLET_CREDIT = "Interactive map: Leaflet 1.9.4 (BSD-2-Clause)"
"""Credit of the vendored map library embedded in the report."""

TILES_CREDIT = "© OpenStreetMap contributors"
"""Attribution of the map tiles the report fetches when ``report.tiles`` is on."""


def __getattr__(name: str) -> Any:
    # core.gazetteer loads pandas; the credit is fetched from it only when asked for.
    if name == "GAZETTEER_CREDIT":
        from core.gazetteer import GAZETTEER_CREDIT

        return GAZETTEER_CREDIT
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
