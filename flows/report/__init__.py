"""The human-readable outputs of a run: the world map (PNG), the HTML report, and the notices.

Importing the package, or a notice from it, is cheap: the renderers (and matplotlib and pandas
behind them) load on first use of :func:`render_map_png` or :func:`render_report_html`, so the
command line can print a notice without paying for them.

- :mod:`flows.report.notices`: every synthetic-data notice and data credit, defined once;
- :mod:`flows.report.basemap`: Natural Earth coastlines and borders (vendored in ``assets/``);
- :mod:`flows.report.map`: :func:`render_map_png`;
- :mod:`flows.report.plots`: the report's figures;
- :mod:`flows.report.webmap`: the interactive Leaflet map (Leaflet vendored in ``assets/``);
- :mod:`flows.report.html`: :func:`render_report_html`;
- :mod:`flows.report.formatting`: how numbers and missing values read in the report.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from flows.report.notices import (
    MAP_CREDIT,
    MAP_SYNTHETIC_FOOTER,
    SYNTHETIC_BANNER,
    SYNTHETIC_DATA_KIND,
    SYNTHETIC_INPUTS,
    SYNTHETIC_NOTICE,
    SYNTHETIC_TITLE_SUFFIX,
)

if TYPE_CHECKING:
    from flows.report.html import render_report_html
    from flows.report.map import render_map_png
    from flows.report.notices import GAZETTEER_CREDIT

__all__ = [
    "GAZETTEER_CREDIT",
    "MAP_CREDIT",
    "MAP_SYNTHETIC_FOOTER",
    "SYNTHETIC_BANNER",
    "SYNTHETIC_DATA_KIND",
    "SYNTHETIC_INPUTS",
    "SYNTHETIC_NOTICE",
    "SYNTHETIC_TITLE_SUFFIX",
    "render_map_png",
    "render_report_html",
]

_LAZY = {
    "GAZETTEER_CREDIT": "flows.report.notices",
    "render_map_png": "flows.report.map",
    "render_report_html": "flows.report.html",
}


def __getattr__(name: str) -> Any:
    # matplotlib and pandas take most of a second to import; neither is needed to print a
    # notice.
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
