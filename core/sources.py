"""The one table of sources: every column and label that depends on a source derives from it.

Adding a source is one :class:`Source` entry here plus its defaults under ``sources:`` in
``flows/defaults.yaml``; records, configuration, measures, rankings and the report follow.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """One kind of document counted by the ranking.

    Attributes
    ----------
    name : str
        The value of the record contract's ``source`` column (also the config key).
    count_column, share_column, per_million_column, rank_column : str
        Output columns: fractional count, share of the world total, count per million
        inhabitants, and the cluster's rank by this source's share alone.
    title, plural : str
        What the documents are called in headings ("Patents") and in prose ("patents").
    counted : str
        What a document is, for the report's column headings.
    """

    name: str
    count_column: str
    share_column: str
    per_million_column: str
    rank_column: str
    growth_column: str
    title: str
    plural: str
    counted: str

    @property
    def count_label(self) -> str:
        return f"{self.title} ({self.counted}fractional count)"

    @property
    def share_label(self) -> str:
        return f"Share of world {self.plural} (%)"

    @property
    def per_million_label(self) -> str:
        return f"{self.title} per million inhabitants"


SOURCE_TABLE: tuple[Source, ...] = (
    Source(
        name="patent",
        count_column="patents",
        share_column="share_patents",
        per_million_column="patents_per_million",
        rank_column="rank_patents",
        growth_column="growth_patents",
        title="Patents",
        plural="patents",
        counted="PCT applications, ",
    ),
    Source(
        name="publication",
        count_column="publications",
        share_column="share_publications",
        per_million_column="publications_per_million",
        rank_column="rank_publications",
        growth_column="growth_publications",
        title="Publications",
        plural="publications",
        counted="scientific articles, ",
    ),
    Source(
        name="vc",
        count_column="vc_deals",
        share_column="share_vc",
        per_million_column="vc_per_million",
        rank_column="rank_vc",
        growth_column="growth_vc",
        title="VC deals",
        plural="VC deals",
        counted="",
    ),
)

#: Source names in their fixed order (categories of the ``source`` column).
SOURCES: tuple[str, ...] = tuple(s.name for s in SOURCE_TABLE)
#: Output column names of each source's count, share, count per million inhabitants and rank.
COUNT_COLUMNS = {s.name: s.count_column for s in SOURCE_TABLE}
SHARE_COLUMNS = {s.name: s.share_column for s in SOURCE_TABLE}
PER_MILLION_COLUMNS = {s.name: s.per_million_column for s in SOURCE_TABLE}
RANK_COLUMNS = {s.name: s.rank_column for s in SOURCE_TABLE}
GROWTH_COLUMNS = {s.name: s.growth_column for s in SOURCE_TABLE}
