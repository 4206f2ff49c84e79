"""Cluster profiles: top organisations and fields, growth, international co-operation.

The GII's cluster pages give, per cluster, the top patent applicant and scientific
organisation, the leading technology and science fields with their shares, growth over the
period and the share of international co-operation. Here the workers sum fractional weights
per (location, year, organisation) and per (location, year, field) next to the per-location
sums of :mod:`core.records` and keep them; once the clusters are known, each partition's sums
are moved to the clusters holding their locations (:func:`cluster_item_sums`), so the client
holds per-location and per-cluster tables only. Organisations and fields travel as integer
keys (:func:`core.hashing.name_keys`), their names in a table of distinct names.

Shares are fractions of the cluster's fractional count in the source, so rows without an
organisation or field lower every share rather than vanish.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.hashing import name_keys
from core.records import (
    N_COUNTRY_CODES,
    NO_YEAR,
    WEIGHT_SCALE,
    YEAR_RANGE,
    YEAR_SPAN,
)
from core.sources import GROWTH_COLUMNS, SOURCES

#: Kinds of profile items: an organisation, or a field (patents: WIPO technology field).
KINDS = ("organization", "field")
#: Items of each (cluster, source, kind) kept in the ``profiles`` table.
PROFILE_ITEMS = 5
#: The profile columns of ``rankings``: (source, kind) → name column, share column.
TOP_COLUMNS = {
    ("patent", "organization"): ("top_applicant", "top_applicant_share"),
    ("publication", "organization"): ("top_science_org", "top_science_org_share"),
    ("patent", "field"): ("top_tech_field", "top_tech_field_share"),
    ("publication", "field"): ("top_science_field", "top_science_field_share"),
}
PROFILE_COLUMNS = [
    *(c for pair in TOP_COLUMNS.values() for c in pair),
    *GROWTH_COLUMNS.values(),
    "international_share",
    "vc_amount",
]
PROFILE_TABLE_COLUMNS = ["source", "kind", "position", "item", "count", "share"]


def _sorted_sums(key: np.ndarray, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    # Sort-based int64 sums: exact whatever the order rows arrive in.
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else key
    return {
        "key": key[starts],
        **{c: np.add.reduceat(v[order], starts) if len(key) else v for c, v in columns.items()},
    }


def profile_sums(rows: pd.DataFrame) -> pd.DataFrame:
    """Fractional weight per (location and year, kind, item) of one partition.

    Parameters
    ----------
    rows : pandas.DataFrame
        :func:`core.records.fractional_weights` output (columns ``loc``, ``year``, ``w``,
        ``valid``, ``org``, ``fld``).

    Returns
    -------
    pandas.DataFrame
        ``key`` (as :func:`core.records.aggregate_locations`), ``kind`` (int8: index in
        :data:`KINDS`), ``item`` (int64 key), ``w`` (int64), one row per distinct triple.
    """
    kept = rows["valid"].to_numpy() & (rows["year"].to_numpy() != NO_YEAR)
    key = rows["loc"].to_numpy()[kept] * YEAR_SPAN + (
        rows["year"].to_numpy(np.int64)[kept] - YEAR_RANGE[0]
    )
    w = rows["w"].to_numpy(np.int64)[kept]
    parts = []
    for kind, column in enumerate(("org", "fld")):
        item = rows[column].to_numpy(np.int64)[kept]
        named = item != 0
        # (key, item) pairs as one sortable pair of int64 columns.
        frame = pd.DataFrame({"key": key[named], "item": item[named], "w": w[named]})
        summed = frame.groupby(["key", "item"], sort=False).sum().reset_index()
        parts.append(summed.assign(kind=np.int8(kind)))
    out = pd.concat(parts, ignore_index=True)
    return out[["key", "kind", "item", "w"]].astype(
        {"key": np.int64, "kind": np.int8, "item": np.int64, "w": np.int64}
    )


def profile_names(checked: pd.DataFrame) -> pd.DataFrame:
    """The names of one partition's organisation and field keys.

    Patents' fields are WIPO technology field numbers and need no name here.

    Returns
    -------
    pandas.DataFrame
        ``kind``, ``item``, ``name``: one row per distinct (kind, item), with the smallest
        spelling (stripped) of the name, so that the choice does not depend on partitioning.
    """
    usable = (checked["reason"].cat.codes.to_numpy() == 0) & (checked["source"].cat.codes >= 0)
    usable = np.asarray(usable)
    patent = (checked["source"].cat.codes.to_numpy() == SOURCES.index("patent")) & usable
    parts = []
    for kind, column, wanted in (
        (0, "organization", usable),
        (1, "field", usable & ~patent),
    ):
        # The smallest spelling over rows is the smallest over the distinct spellings.
        values = pd.Series(pd.unique(checked[column][wanted].dropna()), dtype=object)
        keys = name_keys(values)
        named = keys != 0
        frame = pd.DataFrame(
            {
                "item": keys[named],
                "name": values[named].astype("str").str.strip().to_numpy(dtype=object),
            }
        )
        smallest = frame.groupby("item", sort=False)["name"].min().reset_index()
        parts.append(smallest.assign(kind=np.int8(kind)))
    out = pd.concat(parts, ignore_index=True)
    return out[["kind", "item", "name"]].astype({"kind": np.int8, "item": np.int64})


def _site_and_year(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # A site is the packed location without its country (core.records.window_locations).
    loc, year = np.divmod(np.asarray(key, dtype=np.int64), YEAR_SPAN)
    return loc // N_COUNTRY_CODES, year + YEAR_RANGE[0]


def member_sites(members: pd.DataFrame) -> pd.DataFrame:
    """``site`` (sorted), ``combined`` and ``source`` (int8 code in ``SOURCES``) of each
    cluster member site: what :func:`cluster_item_sums` needs to know of the clusters."""
    sites = members.drop_duplicates("site").sort_values("site", ignore_index=True)
    source = pd.Categorical(sites["source"].astype(object), categories=list(SOURCES)).codes
    return pd.DataFrame(
        {
            "site": sites["site"].to_numpy(np.int64),
            "combined": sites["combined"].to_numpy(np.int64),
            "source": source.astype(np.int8),
        }
    )


def _find_sites(sites: pd.DataFrame, site: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row of each ``site`` in :func:`member_sites` output, and whether it is there."""
    known = sites["site"].to_numpy(np.int64)
    if not len(known):
        return np.zeros(len(site), np.intp), np.zeros(len(site), bool)
    pos = np.minimum(np.searchsorted(known, site), len(known) - 1)
    return pos, known[pos] == site


ITEM_SUM_KEYS = ["combined", "source", "kind", "item"]


def cluster_item_sums(
    sums: pd.DataFrame, sites: pd.DataFrame, *, start_year: int, end_year: int
) -> pd.DataFrame:
    """Profile sums moved from locations to the clusters holding them.

    Run on each partition's :func:`profile_sums` where the partition lies, so that the
    per-(location, item) sums, far larger than the clusters' (most locations are noise),
    never gather in one place.

    Parameters
    ----------
    sums : pandas.DataFrame
        :func:`profile_sums` output, of one partition or summed.
    sites : pandas.DataFrame
        :func:`member_sites` output.
    start_year, end_year : int
        The window.

    Returns
    -------
    pandas.DataFrame
        ``combined`` (int64), ``source`` (int8 code in ``SOURCES``), ``kind`` (int8),
        ``item`` (int64), ``w`` (int64): one row per distinct key, rows of locations
        outside every cluster or of years outside the window dropped.
    """
    site, year = _site_and_year(sums["key"].to_numpy())
    pos, found = _find_sites(sites, site)
    inside = found & (year >= start_year) & (year <= end_year)
    pos = pos[inside]
    frame = pd.DataFrame(
        {
            "combined": sites["combined"].to_numpy(np.int64)[pos],
            "source": sites["source"].to_numpy(np.int8)[pos],
            "kind": sums["kind"].to_numpy(np.int8)[inside],
            "item": sums["item"].to_numpy(np.int64)[inside],
            "w": sums["w"].to_numpy(np.int64)[inside],
        }
    )
    return frame.groupby(ITEM_SUM_KEYS, sort=False)["w"].sum().reset_index()


def cluster_items(
    item_sums: pd.DataFrame,
    names: pd.DataFrame,
    members: pd.DataFrame,
    *,
    field_names: dict[int, str],
    items: int = PROFILE_ITEMS,
) -> pd.DataFrame:
    """The leading organisations and fields of each combined cluster, per source.

    Parameters
    ----------
    item_sums : pandas.DataFrame
        :func:`cluster_item_sums` output, summed over every partition.
    names : pandas.DataFrame
        :func:`profile_names` output, one row per (kind, item).
    members : pandas.DataFrame
        Cluster member rows (``site``, ``source``, ``combined``, ``w``), in the window.
    field_names : dict
        Patent technology field number → name.
    items : int
        Items kept per (cluster, source, kind).

    Returns
    -------
    pandas.DataFrame
        ``combined``, ``source``, ``kind``, ``position`` (1 = top), ``item`` (name),
        ``count`` (fractional documents), ``share`` (of the cluster's count in the source);
        ties are broken by name.
    """
    columns = ["combined", *PROFILE_TABLE_COLUMNS]
    if not len(item_sums):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame = pd.DataFrame(
        {
            "combined": item_sums["combined"].to_numpy(np.int64),
            "source": np.asarray(SOURCES, dtype=object)[item_sums["source"].to_numpy(np.int64)],
            "kind": item_sums["kind"].to_numpy(np.int8),
            "item": item_sums["item"].to_numpy(np.int64),
            "w": item_sums["w"].to_numpy(np.int64),
        }
    )
    named = names.drop_duplicates(["kind", "item"]).set_index(["kind", "item"])["name"]
    text = named.reindex(pd.MultiIndex.from_arrays([frame["kind"], frame["item"]])).to_numpy(
        dtype=object, copy=True
    )
    patent_field = (frame["source"] == "patent").to_numpy() & (frame["kind"] == 1).to_numpy()
    text[patent_field] = frame["item"][patent_field].map(field_names).to_numpy()
    frame["name"] = np.where(pd.isna(text), "", text).astype(object)
    totals = members.groupby(["combined", "source"], observed=True)["w"].sum()
    total = totals.reindex(pd.MultiIndex.from_arrays([frame["combined"], frame["source"]]))
    frame["share"] = frame["w"].to_numpy() / total.to_numpy(np.float64)
    frame = frame.sort_values(
        ["combined", "source", "kind", "w", "name"],
        ascending=[True, True, True, False, True],
        kind="stable",
        ignore_index=True,
    )
    frame["position"] = frame.groupby(["combined", "source", "kind"], sort=False).cumcount() + 1
    frame = frame[frame["position"] <= items]
    return pd.DataFrame(
        {
            "combined": frame["combined"].to_numpy(np.int64),
            "source": frame["source"].to_numpy(dtype=object),
            "kind": np.asarray(KINDS, dtype=object)[frame["kind"].to_numpy(np.int64)],
            "position": frame["position"].to_numpy(np.int64),
            "item": frame["name"].to_numpy(dtype=object),
            "count": frame["w"].to_numpy(np.float64) / WEIGHT_SCALE,
            "share": frame["share"].to_numpy(np.float64),
        }
    )


def growth_rates(
    locations: pd.DataFrame,
    sites: pd.DataFrame,
    *,
    start_year: int,
    end_year: int,
) -> pd.DataFrame:
    """Compound annual growth of each cluster's count per source over the window.

    ``(count in end_year / count in start_year) ** (1 / (end_year - start_year)) - 1``,
    from the cluster's locations (those of its members, in their source); NaN where the
    first year has no documents or the window is one year.

    Parameters
    ----------
    locations : pandas.DataFrame
        :func:`core.records.aggregate_locations` output, summed.
    sites : pandas.DataFrame
        :func:`member_sites` output.
    start_year, end_year : int
        The window.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``combined``, one ``GROWTH_COLUMNS`` column per source.
    """
    site, year = _site_and_year(locations["key"].to_numpy())
    pos, found = _find_sites(sites, site)
    edge = ((year == start_year) | (year == end_year)) & found
    pos = pos[edge]
    frame = pd.DataFrame(
        {
            "combined": sites["combined"].to_numpy(np.int64)[pos],
            "source": np.asarray(SOURCES, dtype=object)[sites["source"].to_numpy(np.int64)[pos]],
            "last": year[edge] == end_year,
            "w": locations["w"].to_numpy(np.int64)[edge],
        }
    )
    sums = frame.groupby(["combined", "source", "last"])["w"].sum().unstack("last", fill_value=0)
    first = sums.get(False, pd.Series(0, index=sums.index)).to_numpy(np.float64)
    last = sums.get(True, pd.Series(0, index=sums.index)).to_numpy(np.float64)
    years = end_year - start_year
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = (last / first) ** (1.0 / years) - 1.0 if years > 0 else np.full(len(first), np.nan)
    rate = np.where(first > 0, rate, np.nan)
    out = pd.Series(rate, index=sums.index).unstack("source")
    clusters = np.unique(sites["combined"].to_numpy())
    out = out.reindex(index=clusters, columns=list(SOURCES))
    out.columns = [GROWTH_COLUMNS[s] for s in SOURCES]
    out.index.name = "combined"
    return out


def cluster_profiles(
    items: pd.DataFrame,
    growth: pd.DataFrame,
    members: pd.DataFrame,
) -> pd.DataFrame:
    """The ``PROFILE_COLUMNS`` of each combined cluster.

    Parameters
    ----------
    items : pandas.DataFrame
        :func:`cluster_items` output.
    growth : pandas.DataFrame
        :func:`growth_rates` output.
    members : pandas.DataFrame
        Cluster member rows with ``combined``, ``source``, ``w``, ``intl``, ``amount``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``combined``. ``international_share``: the part of the cluster's
        fractional count (all sources) from documents with usable rows in more than one
        economy; ``vc_amount``: the cluster's part of its deals' amounts.
    """
    clusters = np.unique(members["combined"].to_numpy())
    out = pd.DataFrame(index=pd.Index(clusters, name="combined"))
    top = items[items["position"] == 1].set_index(["source", "kind"])
    for (source, kind), (name_column, share_column) in TOP_COLUMNS.items():
        rows = top.loc[[(source, kind)]] if (source, kind) in top.index else top.iloc[:0]
        rows = rows.set_index("combined")
        out[name_column] = rows["item"].reindex(clusters).to_numpy(dtype=object)
        out[share_column] = rows["share"].reindex(clusters).to_numpy(np.float64)
    out = out.join(growth)
    by_cluster = members.groupby("combined")
    w = by_cluster["w"].sum()
    out["international_share"] = (by_cluster["intl"].sum() / w.where(w > 0)).reindex(clusters)
    vc = members[(members["source"] == "vc").to_numpy()]
    amount = vc.groupby("combined")["amount"].sum().reindex(clusters)
    out["vc_amount"] = amount.where(amount > 0).astype(np.float64)
    return out[PROFILE_COLUMNS]
