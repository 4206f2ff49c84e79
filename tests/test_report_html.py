"""The HTML report of a run (flows.report.html): self-contained, escaped, formatted tables."""

from __future__ import annotations

import base64
import re

import pandas as pd

from flows.report import render_report_html
from flows.report.formatting import esc
from flows.report.notices import GAZETTEER_CREDIT, SYNTHETIC_BANNER, SYNTHETIC_DATA_KIND
from tests.support import PNG_MAGIC, ranking_table


def _economies() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "economy": ["CN", "JP", "HK"],
            "world_region": ["Asia", "Asia", "Asia"],
            "clusters": [1, 1, 1],
            "leading_cluster": ["Shenzhen–Hong Kong–Guangzhou", "Tokyo–Yokohama", "Shenzhen"],
            "leading_rank": [2, 1, 2],
        }
    )


def _summary(*, synthetic: bool) -> dict:
    return {
        "run_id": "run-42",
        "synthetic": synthetic,
        "parameters": {"eps_km": 13.0, "min_samples": {"patents": 5, "publications": 5}},
        "counts": {"records_read": {"patents": 1234567}, "rejected": {"bad_coordinates": 12}},
        "timings": {"read": 1.25, "cluster": 10.5},
        "aggregates": {
            "concentration": {
                "patents": {"top1": 0.1, "top2": 0.15, "top10": 0.4},
                "publications": {"top1": 0.05, "top2": 0.09, "top10": 0.3},
            }
        },
        "versions": {"numpy": "2.0.0", "pandas": "2.2.0"},
        "geocoding": {
            "per_source": {
                "patent": {
                    "rows_to_geocode": 2000,
                    "match_rate": 0.9875,
                    "ambiguous_rows": 0,
                    "by_method": {"exact": 1975, "unmatched": 25},
                }
            },
            "most_frequent_unmatched": [
                {"text": "Research Triangle Park, NC, US", "rows": 25, "method": "state"}
            ],
            "most_frequent_ambiguous": [],
        },
    }


PNG_STUB = PNG_MAGIC + b"stub image bytes"


def _report(*, synthetic: bool = True, rankings: pd.DataFrame | None = None, top: int = 10) -> str:
    rankings = ranking_table(4) if rankings is None else rankings
    return render_report_html(
        rankings, _economies(), _summary(synthetic=synthetic), PNG_STUB, top=top
    )


def test_report_banner_only_when_synthetic():
    assert SYNTHETIC_BANNER in _report(synthetic=True)
    real = _report(synthetic=False)
    assert SYNTHETIC_BANNER not in real
    assert 'class="banner"' not in real


def test_report_escapes_text_from_the_data():
    rankings = ranking_table(4)
    rankings.loc[0, "name"] = '<script>alert("x")</script>'
    page = _report(rankings=rankings)
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_report_is_self_contained_with_the_map_embedded():
    page = _report()
    assert page.startswith("<!DOCTYPE html>")
    match = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert match and base64.b64decode(match.group(1)) == PNG_STUB
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "http://" not in page and "https://" not in page
    assert "Gazetteer data: GeoNames (geonames.org), CC BY 4.0; subdivision names" in page
    assert page == _report()


def test_report_tables_have_units_and_formatted_numbers():
    page = _report()
    for header in (
        "Patents (PCT applications, fractional count)",
        "Share of world patents (%)",
        "Population (millions)",
        "Intensity (score per million inhabitants)",
    ):
        assert header in page
    assert ">10.12<" in page  # share 0.101234 as a percentage
    assert ">123,456.2<" in page or ">123,456.3<" in page  # fractional count, 1 decimal
    assert ">37.00<" in page  # population in millions
    assert ">n/a<" in page  # zero population and NaN intensity
    assert "1,234,567" in page  # counts with thousands separators
    assert "10.00 %" in page  # top-1 concentration share
    assert "run-42" in page and "eps_km" in page and "numpy" in page


def test_report_gives_geocoding_match_rates_as_percentages():
    page = _report()
    section = page[page.index('<section id="geocoding">') :]
    section = section[: section.index("</section>")]
    assert "<h2>Geocoding</h2>" in section
    assert "98.75 %" in section and "2,000" in section and "1,975" in section
    assert "0.9875" not in page
    assert "Research Triangle Park, NC, US" in section


def test_report_shows_rank_changes():
    page = _report()
    assert ">▲3<" in page
    assert ">▼1<" in page
    assert ">new<" in page
    assert ">–<" in page


def test_report_limits_rows_and_orders_intensity_ranking():
    page = _report(top=1)
    score_table = page.split('id="ranking"')[1].split("</section>")[0]
    assert "Tokyo–Yokohama" in score_table and "Shenzhen" not in score_table
    intensity_table = page.split('id="intensity"')[1].split("</section>")[0]
    # Seoul has intensity rank 1 although it is third by score.
    assert "Seoul" in intensity_table and "Tokyo" not in intensity_table


def test_report_copes_with_missing_columns_and_empty_tables():
    page = render_report_html(
        pd.DataFrame(columns=["rank", "cluster_id", "name"]),
        pd.DataFrame(),
        {"run_id": None, "synthetic": False},
        b"",
        top=10,
    )
    assert "</html>" in page and "n/a" in page


def test_report_shows_the_notices_and_credit_of_flows_report_notices():
    page = _report(synthetic=True)
    banner = esc(SYNTHETIC_BANNER)
    assert f'<div class="banner" role="alert">{banner}</div>' in page
    assert f"data: {esc(SYNTHETIC_DATA_KIND)} ·" in page
    footer = page[page.index("<footer>") : page.index("</footer>")]
    assert f"<p>{esc(GAZETTEER_CREDIT)}</p>" in footer
    assert f"<p><strong>{banner}.</strong></p>" in footer

    real = _report(synthetic=False)
    assert f"<p>{esc(GAZETTEER_CREDIT)}</p>" in real
    assert esc(SYNTHETIC_DATA_KIND) not in real and banner not in real


def _profiled(n: int = 4) -> pd.DataFrame:
    rankings = ranking_table(n)
    rankings["rank_previous_method"] = [3.0, 1.0, float("nan"), 2.0][:n]
    for column, values in {
        "rank_patents": [1, 2, 3, 4],
        "rank_publications": [2, 1, 4, 3],
        "rank_vc": [1, 3, 2, pd.NA],
        "top_applicant": ["Toyota <Motor>", "Huawei", None, "Apple"],
        "top_applicant_share": [0.1234, 0.2, None, 0.05],
        "top_science_org": ["University of Tokyo", "Shenzhen University", "KAIST", None],
        "top_science_org_share": [0.3, 0.1, 0.2, None],
        "top_tech_field": ["Transport", "Digital communication", "Semiconductors", None],
        "top_tech_field_share": [0.15, 0.4, 0.25, None],
        "top_science_field": ["Physics", "Engineering", "Chemistry", None],
        "top_science_field_share": [0.2, 0.3, 0.25, None],
        "growth_patents": [0.0356, -0.02, 0.0, None],
        "growth_publications": [0.01, 0.05, 0.02, None],
        "growth_vc": [None, 0.1, 0.0, None],
        "international_share": [0.08, 0.14, 0.05, None],
    }.items():
        rankings[column] = (
            pd.array(values[:n], dtype="Int64") if column == "rank_vc" else values[:n]
        )
    return rankings


def test_report_compares_with_the_previous_method_and_shows_profiles():
    summary = {
        **_summary(synthetic=False),
        "previous_method": {
            "label": "patents and publications",
            "sources": ["patent", "publication"],
            "clusters": 9,
            "matched": 7,
            "reclustered": [],
        },
    }
    page = render_report_html(_profiled(), _economies(), summary, PNG_STUB, top=10)
    comparison = page.split('id="comparison"')[1].split("</section>")[0]
    assert "Previous method: patents and publications (sources: patent, publication)" in comparison
    assert "7 of its 9 clusters matched" in comparison
    rows = comparison.split("<tbody>")[1].split("</tr>")
    # Tokyo: rank 1, previous 3 (gained 2); Shenzhen: 2 from 1 (lost 1); Seoul: no match.
    assert '<td class="num">3</td><td class="num">+2</td>' in rows[0]
    assert '<td class="num">1</td><td class="num">−1</td>' in rows[1]
    assert '<td class="num">n/a</td><td class="num">n/a</td>' in rows[2]
    profiles = page.split('id="profiles"')[1].split("</section>")[0]
    assert 'Toyota &lt;Motor&gt; <span class="muted">(12.34 %)</span>' in profiles
    assert ">+3.6<" in profiles and ">−2.0<" in profiles and ">0.0<" in profiles
    assert ">8.00<" in profiles  # international co-operation share
    # Cluster names link to their footprint on the map.
    assert '<a href="#map" data-cluster="c0">Tokyo–Yokohama</a>' in profiles


def test_report_without_previous_method_says_so():
    page = render_report_html(_profiled(), _economies(), _summary(synthetic=False), b"", top=10)
    assert "was not compared with a previous method" in page


def test_report_embeds_the_plots_it_is_given_and_leaves_out_empty_ones():
    plots = {"top_share": PNG_MAGIC + b"a", "clusters_per_economy": b"", "rank_changes": None}
    page = render_report_html(
        _profiled(), _economies(), _summary(synthetic=False), b"", top=10, plots=plots
    )
    section = page.split('id="plots"')[1].split("</section>")[0]
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', section)
    assert [base64.b64decode(i) for i in images] == [PNG_MAGIC + b"a"]
