"""The report's plots (flows.report.plots): their data helpers, and deterministic PNGs."""

from __future__ import annotations

import ast
import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from flows.report import plots
from flows.report.plots import (
    PLOT_DPI,
    PLOT_FIGSIZE,
    biggest_movers,
    cumulative_shares,
    economy_counts,
    plot_clusters_per_economy,
    plot_rank_changes,
    plot_top_share,
    plot_year_over_year,
)
from tests.support import PNG_MAGIC, ranking_table

SIZE = (round(PLOT_FIGSIZE[0] * PLOT_DPI), round(PLOT_FIGSIZE[1] * PLOT_DPI))


def _image_size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return image.size


def _rankings(n: int = 40, seed: int = 0) -> pd.DataFrame:
    """A ranking table of ``n`` clusters with decreasing shares and a few unmatched ranks."""
    rng = np.random.default_rng(seed)
    rank = np.arange(1, n + 1)
    share = 0.2 / rank
    previous = pd.array(rng.permutation(n) + 1, dtype="Int64")
    previous[[3, 7]] = pd.NA
    return pd.DataFrame(
        {
            "rank": rank,
            "cluster_id": [f"c{k}" for k in range(n)],
            "name": [f"東京 {k}: $1–$2 Zürich" for k in range(n)],
            "share_patents": share,
            "share_publications": share * 0.5,
            "share_vc": share * rng.uniform(0, 2, n),
            "rank_previous_method": previous,
            "previous_rank": pd.array(rank + rng.integers(-3, 4, n), dtype="Int64"),
        }
    )


def _economies() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "economy": ["US", "CN", "DE", "KR", "JP", "FR", "GB"],
            "world_region": ["Northern America", "Asia", "Europe", "Asia", "Asia", "Europe", ""],
            "clusters": [20, 12, 4, 4, 3, 1, 1],
            "leading_cluster": ["a", "b", "c", "d", "e", "f", "g"],
            "leading_rank": [1, 2, 9, 5, 3, 12, 14],
        }
    )


def _all_plots(synthetic: bool) -> dict[str, bytes]:
    rankings = _rankings()
    return {
        "top_share": plot_top_share(rankings, synthetic=synthetic),
        "economies": plot_clusters_per_economy(_economies(), synthetic=synthetic),
        "rank_changes": plot_rank_changes(
            rankings, synthetic=synthetic, method_label="patents and publications"
        ),
        "year_over_year": plot_year_over_year(rankings, synthetic=synthetic),
    }


# ------------------------------------------------------------------------------------------
# The data behind the plots
# ------------------------------------------------------------------------------------------


def test_cumulative_shares_add_up_in_rank_order():
    rankings = pd.DataFrame(
        {
            "rank": [2, 3, 1],
            "share_patents": [5.0, 2.5, 10.0],
            "share_publications": [0.2, np.nan, 0.3],
            "share_vc": [np.nan, np.nan, np.nan],
        }
    )
    curves = cumulative_shares(rankings)
    assert list(curves) == ["patent", "publication"]  # no VC share at all: no VC line
    np.testing.assert_allclose(curves["patent"], [10.0, 15.0, 17.5])
    np.testing.assert_allclose(curves["publication"], [0.3, 0.5, 0.5])


def test_cumulative_shares_drop_unranked_rows_and_keep_table_order_without_ranks():
    with_missing_rank = pd.DataFrame({"rank": [1.0, np.nan, 2.0], "share_vc": [0.1, 0.5, 0.2]})
    np.testing.assert_allclose(cumulative_shares(with_missing_rank)["vc"], [0.1, 0.3])
    without_rank = pd.DataFrame({"share_vc": [0.2, 0.1]})
    np.testing.assert_allclose(cumulative_shares(without_rank)["vc"], [0.2, 0.3])
    assert cumulative_shares(None) == {}
    assert cumulative_shares(pd.DataFrame()) == {}


def test_economy_counts_sort_by_count_then_code_and_keep_the_top():
    economies = pd.DataFrame(
        {
            "economy": ["KR", "DE", "US", "JP", None, "FR"],
            "clusters": [4, 4, 20, 3, 9, 0],
        }
    )
    counts = economy_counts(economies, top=3)
    assert counts["economy"].tolist() == ["US", "DE", "KR"]
    assert counts["clusters"].tolist() == [20, 4, 4]
    assert counts["world_region"].tolist() == ["", "", ""]  # no region column: no colour
    assert economy_counts(economies, top=10)["economy"].tolist() == ["US", "DE", "KR", "JP"]
    assert economy_counts(None).empty


def test_biggest_movers_sort_by_the_size_of_the_move_then_by_rank():
    rankings = pd.DataFrame(
        {
            "rank": [1, 2, 3, 4, 5, 6, 7],
            "name": ["A", "B", "C", "D", "E", "F", "G"],
            "rank_previous_method": pd.array([1, 6, pd.NA, 1, 9, 2, 40], dtype="Int64"),
        }
    )
    movers = biggest_movers(rankings, top=6, count=8)
    # |move|: B 4, D 3, E 4, F 4; A unchanged, C unmatched, G beyond the top 6.
    assert movers["name"].tolist() == ["B", "E", "F", "D"]
    assert movers["move"].tolist() == [4, 4, -4, -3]
    assert movers["previous"].tolist() == [6, 9, 2, 1]
    assert biggest_movers(rankings, top=6, count=2)["name"].tolist() == ["B", "E"]
    assert biggest_movers(rankings.drop(columns="rank_previous_method")).empty
    year = rankings.rename(columns={"rank_previous_method": "previous_rank"})
    assert biggest_movers(year, previous="previous_rank", top=7, count=1)["name"].tolist() == ["G"]


def test_long_names_are_cut_between_places():
    assert plots._short("Shenzhen–Hong Kong–Guangzhou") == "Shenzhen–Hong Kong…"
    assert plots._short("Seoul") == "Seoul"
    assert plots._short(None) == ""
    assert len(plots._short("x" * 60)) == plots._MAX_NAME


# ------------------------------------------------------------------------------------------
# The PNGs
# ------------------------------------------------------------------------------------------


def test_plots_are_deterministic_pngs_of_the_documented_size():
    first = _all_plots(synthetic=True)
    again = _all_plots(synthetic=True)
    real = _all_plots(synthetic=False)
    assert SIZE == (840, 432)
    for key, png in first.items():
        assert png.startswith(PNG_MAGIC), key
        assert _image_size(png) == SIZE, key
        assert again[key] == png, key
        assert real[key] != png, key  # the synthetic footer is drawn
        assert b"Software" not in png and b"matplotlib" not in png.lower(), key


def test_plots_draw_without_warnings():
    # Names carry "$" (mathtext unless escaped) and CJK glyphs the bundled font lacks.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all(_all_plots(synthetic=True).values())


def test_plots_of_nothing_are_empty():
    for table in (None, pd.DataFrame(), ranking_table(2).iloc[0:0]):
        assert plot_top_share(table, synthetic=True) == b""
        assert plot_rank_changes(table, synthetic=True) == b""
        assert plot_year_over_year(table, synthetic=True) == b""
    for table in (None, pd.DataFrame(), pd.DataFrame({"economy": ["US"], "clusters": [0]})):
        assert plot_clusters_per_economy(table, synthetic=True) == b""
    # A ranking without shares, or without any earlier rank, has nothing to plot.
    no_shares = ranking_table(4).drop(columns=["share_patents", "share_publications", "share_vc"])
    assert plot_top_share(no_shares, synthetic=False) == b""
    unmatched = ranking_table(4).assign(rank_previous_method=pd.array([pd.NA] * 4, dtype="Int64"))
    assert plot_rank_changes(unmatched, synthetic=False) == b""
    assert plot_rank_changes(ranking_table(4), synthetic=False) == b""  # no such column
    no_previous_run = ranking_table(4).assign(previous_rank=pd.array([pd.NA] * 4, dtype="Int64"))
    assert plot_year_over_year(no_previous_run, synthetic=False) == b""


@pytest.mark.parametrize("dropped", [["name"], ["name", "share_vc", "cluster_id"]])
def test_plots_tolerate_missing_columns(dropped):
    rankings = _rankings(12).drop(columns=dropped)
    for png in (
        plot_top_share(rankings, synthetic=False),
        plot_rank_changes(rankings, synthetic=False),
        plot_year_over_year(rankings, synthetic=False),
    ):
        assert png.startswith(PNG_MAGIC) and _image_size(png) == SIZE
    economies = _economies().drop(columns=["world_region", "leading_cluster"])
    assert _image_size(plot_clusters_per_economy(economies, synthetic=False)) == SIZE


def test_a_ranking_without_ranks_plots_its_shares_in_table_order_only():
    rankings = _rankings(12).drop(columns="rank")
    assert _image_size(plot_top_share(rankings, synthetic=False)) == SIZE
    # Without a rank now there is nothing to set an earlier rank against.
    assert plot_rank_changes(rankings, synthetic=False) == b""
    assert plot_year_over_year(rankings, synthetic=False) == b""


def test_small_tables_plot():
    rankings = ranking_table(4).assign(
        rank_previous_method=pd.array([2, 1, pd.NA, 9], dtype="Int64")
    )
    for png in (
        plot_top_share(rankings.head(1), synthetic=False),
        plot_rank_changes(rankings, synthetic=True),
        plot_year_over_year(rankings, synthetic=True),
        plot_clusters_per_economy(_economies().head(1), top=1, synthetic=True),
    ):
        assert png.startswith(PNG_MAGIC) and _image_size(png) == SIZE


def test_plots_leave_the_global_pyplot_state_alone():
    tree = ast.parse(Path(plots.__file__).read_text(encoding="utf-8"))
    imported = {
        name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for name in (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [f"{node.module}.{a.name}" for a in node.names]
        )
    }
    assert not [name for name in imported if "pyplot" in name]
