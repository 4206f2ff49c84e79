"""Reading record tables (Parquet or CSV on any fsspec URL) and the embedded demo world."""

from __future__ import annotations

import posixpath
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from core.records import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    checked_meta,
    coordinates_missing,
    missing_columns,
    validate_records,
)
from flows.errors import InputError
from flows.storage import StorageTarget, describe, storage_errors

if TYPE_CHECKING:
    from flows.config import Config, GeocodingParams
from flows.testhooks import pause

PARQUET_SUFFIXES = (".parquet", ".pq")
# Optional columns that the ranking itself does not use; rejects report them.
TEXT_ONLY_COLUMNS = ("city", "state", "address")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zst")
# Row groups are read together up to this many rows: enough partitions to keep every
# worker busy, few enough that the shuffle by document stays cheap.
ROWS_PER_PARTITION = 250_000


@dataclass(frozen=True)
class Piece:
    """One partition of one input file: row groups ``row_groups`` starting at ``offset``."""

    url: str
    fmt: str
    columns: tuple[str, ...]
    row_groups: tuple[int, ...] | None
    offset: int


def _format_of(path: str) -> str | None:
    lower = path.lower()
    if lower.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if lower.endswith(CSV_SUFFIXES):
        return "csv"
    return None


def expand_inputs(
    urls: Sequence[str],
    storage_options: Mapping[str, Any],
    *,
    accepts: Callable[[str], object] = _format_of,
    kinds: str = ".parquet or .csv",
) -> list[tuple[str, Any]]:
    """Every input file named by ``urls`` (files, folders or globs), with its filesystem.

    ``accepts(path)`` says whether a file is of the input's kind (``kinds`` names them in
    messages): a folder contributes the files it accepts, a named file must be one.
    """
    found: list[tuple[str, Any]] = []
    for url in urls:
        try:
            named = StorageTarget(url, storage_options)
            fs, paths = named.fs, named.expand()
        except (ValueError, ImportError, *storage_errors()) as exc:
            raise InputError(f"input {url}: {describe(exc)}") from None
        if not paths:
            raise InputError(f"input {url}: no such file")
        for path in paths:
            try:
                if fs.isdir(path):
                    inside = sorted(p for p in fs.find(path) if accepts(p))
                    if not inside:
                        raise InputError(f"input {url}: folder holds no {kinds} file")
                    found.extend((fs.unstrip_protocol(p), fs) for p in inside)
                elif fs.exists(path):
                    if not accepts(path):
                        raise InputError(f"input {url}: not a {kinds} file")
                    found.append((fs.unstrip_protocol(path), fs))
                else:
                    raise InputError(f"input {url}: no such file")
            except storage_errors() as exc:
                raise InputError(f"input {url}: {describe(exc)}") from None
    return found


CSV_CHECKED_LINES = 1000


def _csv_header(fh: Any, url: str) -> list[str]:
    """The CSV's column names, after checking its first lines are as wide as its header:
    pandas would otherwise take a first column for an index (every value shifted one
    column) or drop trailing fields."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            head = pd.read_csv(
                fh, nrows=CSV_CHECKED_LINES, dtype=str, keep_default_na=False, index_col=False
            )
        except pd.errors.ParserWarning:
            raise InputError(
                f"input {url}: rows have more fields than the header has columns "
                "(a stray comma or an unquoted value?)"
            ) from None
    return head.columns.tolist()


def plan_pieces(urls: Sequence[str], storage_options: Mapping[str, Any]) -> list[Piece]:
    """Check each input's columns and cut it into partitions.

    Raises
    ------
    InputError
        A file is missing, unreadable, of an unknown format or lacks a required column.
    """
    import pyarrow.parquet as pq

    wanted = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
    pieces: list[Piece] = []
    for url, fs in expand_inputs(urls, storage_options):
        path = fs._strip_protocol(url)
        fmt = _format_of(path)
        try:
            if fmt == "parquet":
                with fs.open(path, "rb") as fh:
                    meta = pq.ParquetFile(fh).metadata
                    names = meta.schema.names
                    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
            else:
                with fs.open(path, "rt", compression="infer") as fh:
                    names = _csv_header(fh, url)
                sizes = None
        except (ValueError, *storage_errors()) as exc:
            raise InputError(f"input {url}: cannot read {fmt}: {describe(exc)}") from None
        missing = missing_columns(names)
        if missing and missing[0] in REQUIRED_COLUMNS:
            raise InputError(f"input {url}: missing required column '{missing[0]}'")
        if missing:
            partner = "lat" if missing[0] == "lon" else "lon"
            raise InputError(
                f"input {url}: missing column '{missing[0]}' (a file with '{partner}' needs "
                f"both; without either, rows are geocoded)"
            )
        columns = tuple(c for c in wanted if c in names)
        if sizes is None:
            pieces.append(Piece(url, fmt, columns, None, 0))
            continue
        offset, group, rows = 0, [], 0
        for index, size in enumerate(sizes):
            group.append(index)
            rows += size
            if rows >= ROWS_PER_PARTITION or index == len(sizes) - 1:
                pieces.append(Piece(url, fmt, columns, tuple(group), offset))
                offset += rows
                group, rows = [], 0
        if not sizes:
            pieces.append(Piece(url, fmt, columns, (), 0))
    return pieces


def read_piece(
    piece: Piece,
    storage_options: Mapping[str, Any],
    columns: Sequence[str] | None = None,
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """The raw rows of one piece, with ``file`` and ``row`` (0-based row in its file).

    ``columns`` limits what is read (default: every contract column the file has);
    ``rows`` (positions in the piece) limits which rows are converted to pandas.
    """
    import pyarrow.parquet as pq

    wanted = [c for c in piece.columns if columns is None or c in columns]
    source = StorageTarget(piece.url, storage_options)
    if piece.fmt == "parquet":
        with source.open() as fh:
            table = pq.ParquetFile(fh).read_row_groups(list(piece.row_groups), columns=wanted)
        # Converting text to pandas costs more than decoding it: take the rows first.
        frame = (table if rows is None else table.take(rows)).to_pandas()
    else:
        with source.open(mode="rt", compression="infer") as fh:
            # Everything as text, and "NA" is Namibia, not a missing value.
            frame = pd.read_csv(
                fh, dtype=str, keep_default_na=False, usecols=wanted, index_col=False
            )
        if rows is not None:
            frame = frame.iloc[rows].reset_index(drop=True)
    name = posixpath.basename(piece.url.rstrip("/"))
    position = np.arange(len(frame)) if rows is None else np.asarray(rows)
    return frame.assign(file=name, row=piece.offset + position)


def _read_or_fail(
    piece: Piece,
    storage_options: Mapping[str, Any],
    columns: Sequence[str],
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    # Raised on a worker, re-raised by the client: keep it a picklable one-liner.
    try:
        return read_piece(piece, storage_options, columns, rows)
    except (ValueError, *storage_errors()) as exc:
        raise InputError(f"input {piece.url}: cannot read: {describe(exc)}") from None


def _small_table(url: str, storage_options: Mapping[str, Any], *, what: str) -> pd.DataFrame:
    # A CSV a user gives beside the inputs, as text: read once, on the client.
    try:
        with StorageTarget(url, storage_options).open(mode="rt", compression="infer") as fh:
            return pd.read_csv(fh, dtype=str, keep_default_na=False, index_col=False)
    except (ValueError, *storage_errors()) as exc:
        raise InputError(f"{what} {url}: cannot read: {describe(exc)}") from None


def load_cluster_names(url: str, storage_options: Mapping[str, Any]) -> dict[str, str]:
    """The names a user gives clusters (``names-url``: a CSV of ``cluster_id, name``).

    Raises
    ------
    InputError
        Unreadable file or a bad row; one line.
    """
    from core.naming import given_names

    table = _small_table(url, storage_options, what="names-url")
    try:
        return given_names(table)
    except ValueError as exc:
        raise InputError(f"names-url {url}: {exc}") from None


def load_aliases(url: str, storage_options: Mapping[str, Any]) -> pd.DataFrame:
    """The alias table at ``url`` (CSV), checked and resolved against the gazetteer.

    Raises
    ------
    InputError
        Unreadable file or a bad row; one line.
    """
    from core.geocoding import resolve_aliases
    from flows.gazetteer_cache import gazetteer_index

    table = _small_table(url, storage_options, what="aliases")
    try:
        return resolve_aliases(table, gazetteer_index())
    except ValueError as exc:
        raise InputError(f"aliases {url}: {exc}") from None


def input_fingerprints(
    urls: Sequence[str], storage_options: Mapping[str, Any], **kinds: Any
) -> list[dict[str, Any]]:
    """Each input file with its size and version tag (ETag or modification time);
    ``kinds`` as for :func:`expand_inputs`."""
    out = []
    for url, fs in expand_inputs(urls, storage_options, **kinds):
        try:
            info = fs.info(fs._strip_protocol(url))
        except storage_errors() as exc:
            raise InputError(f"input {url}: {describe(exc)}") from None
        tag = info.get("ETag") or info.get("mtime") or info.get("LastModified") or ""
        out.append({"url": url, "bytes": int(info.get("size") or 0), "version": str(tag)})
    return out


@dataclass(frozen=True, eq=False)
class Geocoding:
    """What the read tasks need to place rows without coordinates."""

    enabled: bool = True
    accept_country_level: bool = False
    reject_ambiguous: bool = False
    aliases: pd.DataFrame | None = None
    """``core.geocoding.resolve_aliases`` output, resolved once on the client."""

    @classmethod
    def from_params(cls, params: GeocodingParams, storage_options: Mapping[str, Any]) -> Geocoding:
        """The configuration's settings, with its alias table loaded and resolved.

        Raises
        ------
        InputError
            The alias table is unreadable or has a bad row.
        """
        return cls(
            enabled=params.enabled,
            accept_country_level=params.accept_country_level,
            reject_ambiguous=params.reject_ambiguous,
            aliases=load_aliases(params.aliases_url, storage_options)
            if params.aliases_url
            else None,
        )

    def __call__(self, places: pd.DataFrame) -> pd.DataFrame:
        # Imported on first use: partitions with coordinates never load the gazetteer index.
        from core.geocoding import geocode
        from flows.gazetteer_cache import gazetteer_index

        return geocode(places, index=gazetteer_index(), aliases=self.aliases)


@dataclass(frozen=True, eq=False)
class ReadSettings:
    """Everything the *read + validate* tasks need besides the input itself."""

    rounding_deg: float
    countries: frozenset[str]
    """Valid economies (ISO 3166-1 alpha-2 codes)."""
    geocoding: Geocoding = field(default_factory=Geocoding)

    @classmethod
    def from_config(cls, config: Config) -> ReadSettings:
        """The run configuration's settings (loads and resolves the alias table).

        Raises
        ------
        InputError
            The alias table is unreadable or has a bad row.
        """
        from core.regions import known_economies

        return cls(
            rounding_deg=config.rounding_deg,
            countries=known_economies(),
            geocoding=Geocoding.from_params(config.geocoding, config.storage_options),
        )

    def check(self, raw: pd.DataFrame) -> pd.DataFrame:
        """``core.records.validate_records`` with these settings."""
        geocoding = self.geocoding
        return validate_records(
            raw,
            rounding_deg=self.rounding_deg,
            known_countries=self.countries,
            geocoder=geocoding if geocoding.enabled else None,
            accept_country_level=geocoding.accept_country_level,
            reject_ambiguous=geocoding.reject_ambiguous,
        )


def _read_and_check(
    piece: Piece, *, storage_options: Mapping[str, Any], settings: ReadSettings
) -> pd.DataFrame:
    pause("READ")
    # City, state and address matter only for rows to geocode and rejected rows: read them
    # only when there are such rows.
    needed = [c for c in piece.columns if c not in TEXT_ONLY_COLUMNS]
    extra = [c for c in piece.columns if c in TEXT_ONLY_COLUMNS]
    raw = _read_or_fail(piece, storage_options, needed)
    # Rows without coordinates need their text to be geocoded.
    have_text = coordinates_missing(raw) if extra else np.zeros(len(raw), bool)
    if extra:
        _attach_text(raw, piece, storage_options, extra, have_text)
    checked = settings.check(raw)
    rejected = (checked["reason"] != "").to_numpy() & ~have_text
    if extra and rejected.any():
        _attach_text(checked, piece, storage_options, extra, rejected | have_text)
    return checked


def _attach_text(
    frame: pd.DataFrame,
    piece: Piece,
    storage_options: Mapping[str, Any],
    columns: Sequence[str],
    wanted: np.ndarray,
) -> None:
    """Set ``columns`` (read from the piece) on the ``wanted`` rows of ``frame``, None elsewhere."""
    if not wanted.any():
        return
    rows = np.flatnonzero(wanted)
    text = _read_or_fail(piece, storage_options, columns, rows)
    for column in columns:
        values = np.full(len(frame), None, dtype=object)
        values[rows] = text[column].to_numpy(dtype=object)
        # An explicit object Series: pandas would otherwise re-infer (and copy) as text.
        frame[column] = pd.Series(values, dtype=object, index=frame.index, copy=False)


def checked_from_map(
    func: Callable[..., pd.DataFrame], items: Sequence[Any], *, label: str, **kwargs: Any
) -> dd.DataFrame:
    """A collection of checked partitions, ``func(item, **kwargs)`` each."""
    # Checked partitions already carry their final dtypes; Dask's automatic conversion of
    # object columns to strings would only copy the text columns kept for rejects.
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_map(
            func, items, meta=checked_meta(), label=label, enforce_metadata=False, **kwargs
        )


def read_records(
    urls: Sequence[str], *, settings: ReadSettings, storage_options: Mapping[str, Any]
) -> dd.DataFrame:
    """Stage *read + validate*: every input row checked, rows without coordinates geocoded
    first (on the workers), one partition per piece."""
    return checked_from_map(
        _read_and_check,
        plan_pieces(urls, storage_options),
        label="icrank-read",
        storage_options=dict(storage_options),
        settings=settings,
    )


def _demo_and_check(chunk: int, *, scale: float, seed: int, settings: ReadSettings) -> pd.DataFrame:
    from core.demo_world import generate_demo_chunk
    from core.gazetteer import load_cities

    pause("READ")
    frame = generate_demo_chunk(load_cities(), chunk, scale=scale, seed=seed)
    frame = frame.assign(file=f"demo-{chunk:05d}", row=np.arange(len(frame)))
    return settings.check(frame)


def demo_records(*, settings: ReadSettings, scale: float, seed: int) -> dd.DataFrame:
    """Stage *read + validate* on the embedded SYNTHETIC demo world, generated on the workers."""
    from core.demo_world import demo_chunk_count

    return checked_from_map(
        _demo_and_check,
        range(demo_chunk_count(scale=scale)),
        label="icrank-demo",
        scale=scale,
        seed=seed,
        settings=settings,
    )
