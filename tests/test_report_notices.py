"""The notices and credits of a run (flows.report.notices): defined once, cheap to import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import core.gazetteer
import flows.report
from flows.report import html as report_html
from flows.report import map as report_map
from flows.report import notices

SYNTHETIC_FORMS = ("SYNTHETIC_NOTICE", "SYNTHETIC_BANNER", "MAP_SYNTHETIC_FOOTER")


def test_importing_a_notice_loads_neither_matplotlib_nor_pandas():
    code = (
        "import sys\n"
        "from flows.report import SYNTHETIC_NOTICE, SYNTHETIC_TITLE_SUFFIX\n"
        "import flows.report.notices\n"
        "heavy = [m for m in ('matplotlib', 'pandas') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_the_package_resolves_its_lazy_names_to_the_single_definitions():
    assert flows.report.GAZETTEER_CREDIT is core.gazetteer.GAZETTEER_CREDIT
    assert notices.GAZETTEER_CREDIT is core.gazetteer.GAZETTEER_CREDIT
    assert flows.report.render_map_png is report_map.render_map_png
    assert flows.report.render_report_html is report_html.render_report_html
    for name in flows.report.__all__:
        assert name in dir(flows.report)
        assert getattr(flows.report, name) is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        flows.report.no_such_name  # noqa: B018
    with pytest.raises(AttributeError, match="no_such_name"):
        notices.no_such_name  # noqa: B018


def test_renderers_use_the_notices_module_objects():
    assert report_map.MAP_SYNTHETIC_FOOTER is notices.MAP_SYNTHETIC_FOOTER
    assert report_map.MAP_CREDIT is notices.MAP_CREDIT
    assert report_html.SYNTHETIC_BANNER is notices.SYNTHETIC_BANNER
    assert report_html.SYNTHETIC_DATA_KIND is notices.SYNTHETIC_DATA_KIND
    assert report_html.GAZETTEER_CREDIT is core.gazetteer.GAZETTEER_CREDIT


@pytest.mark.parametrize("name", SYNTHETIC_FORMS)
def test_every_form_of_the_synthetic_notice_says_what_the_data_are_not(name):
    text = getattr(notices, name)
    assert "synthetic" in text.lower()
    assert "not WIPO figures" in text


def test_notice_texts_are_written_nowhere_else_in_the_report_package():
    texts = [getattr(notices, name) for name in notices.__all__]
    package = Path(notices.__file__).parent
    for path in sorted(package.glob("*.py")):
        if path.name == "notices.py":
            continue
        source = path.read_text(encoding="utf-8")
        for text in texts:
            assert text.strip(" —") not in source, (path.name, text)
