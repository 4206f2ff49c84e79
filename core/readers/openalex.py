"""OpenAlex works (CC0) → record-contract rows: one per (work, authorship, institution).

Two input forms, told apart from the bytes:

- JSON Lines as in the OpenAlex snapshot (``data/works/updated_date=*/part_*.gz``, one work
  object per line; the caller decompresses);
- API result pages, ``{"meta": {...}, "results": [...]}``, on one line or pretty-printed
  (a single work as ``/works/W…`` returns it is read as a file of one work).

Fractional counting: a work counts 1, split equally over its authorships, and an authorship's
share equally over its institutions (or, without institutions, over its raw affiliation
strings). Institutions in works carry no coordinates; the ``institutions`` option (the
institutions entity, read by :func:`parse_institutions`) adds them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from core.readers.common import author_weights, reader_frame

FORMAT = "openalex"
SOURCE = "publication"

#: Work types kept by default: the GII counts articles.
DEFAULT_WORK_TYPES: tuple[str, ...] = ("article",)
#: Snapshots before mid-2023 put Crossref's type in ``type``; this is what OpenAlex's own
#: type list calls it, so that ``work_types: [article]`` keeps articles of old snapshots too.
LEGACY_TYPES = {"journal-article": "article"}
ID_PREFIX = "https://openalex.org/"
NO_INSTITUTION = "authorship without institution or affiliation"
NO_AUTHORSHIP = "work without authorships"
#: Columns of :func:`parse_institutions`, named as ``pandas.json_normalize`` names the
#: entity's fields, so a frame the caller built from the JSON itself fits too.
INSTITUTION_COLUMNS = (
    "id",
    "display_name",
    "ror",
    "country_code",
    "geo.city",
    "geo.region",
    "geo.latitude",
    "geo.longitude",
)


def _decode(data: bytes) -> str:
    """The file as text: UTF-8 with or without a byte-order mark."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValueError(f"line {line}: not UTF-8 text (byte {exc.start})") from None


def _json_error(where: str, exc: json.JSONDecodeError) -> ValueError:
    return ValueError(f"{where}: not JSON ({exc.msg}, column {exc.colno})")


def _objects(text: str) -> Iterator[tuple[int, str, Any]]:
    """Every entity of a file as ``(row, where, object)``: ``row`` is the 0-based line of a
    JSON Lines record or the index of a page's result, ``where`` names it in messages.

    Raises
    ------
    ValueError
        The first line (or result) that is not JSON, or a file that is neither form.
    """
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return
    try:
        head = json.loads(lines[first])
    except json.JSONDecodeError as exc:
        head_error: json.JSONDecodeError | None = exc
    else:
        head_error = None
    if head_error is not None:
        # The first line alone is not JSON: a pretty-printed page (or work), or a bad line 1.
        try:
            whole = json.loads(text)
        except json.JSONDecodeError as exc:
            if exc.msg == "Extra data" or exc.lineno - 1 == first:
                raise _json_error(f"line {first + 1}", head_error) from None
            raise _json_error(f"line {exc.lineno}", exc) from None
        # Results of a pretty-printed page are named by their index: its lines say little.
        yield from _expand(whole, first, f"line {first + 1}", start=0, prefix="")
        return
    n_results = 0
    for i in range(first, len(lines)):
        line = lines[i]
        if i == first:
            value = head
        elif not line.strip():
            continue  # a trailing newline, or lines joined by an editor
        else:
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise _json_error(f"line {i + 1}", exc) from None
        if isinstance(value, dict) and "results" in value and "id" not in value:
            # An API page saved on one line (or several pages, one per line).
            where = f"line {i + 1}"
            for item in _expand(value, i, where, start=n_results, prefix=f"{where}: "):
                n_results += 1
                yield item
        else:
            yield i, f"line {i + 1}", value


def _expand(
    value: Any, line: int, where: str, *, start: int, prefix: str
) -> Iterator[tuple[int, str, Any]]:
    """A whole JSON document: an API page's results (rows ``start``, ``start + 1``…, named
    ``prefix + "results[j]"``) or one entity (row ``line``, named ``where``)."""
    if isinstance(value, dict) and "results" in value and "id" not in value:
        results = value["results"]
        if not isinstance(results, list):
            raise ValueError(f"{where}: field 'results' is not a list")
        for j, item in enumerate(results):
            yield start + j, f"{prefix}results[{j}]", item
    elif isinstance(value, dict):
        yield line, where, value
    else:
        raise ValueError(
            f"{where}: not an OpenAlex entity nor an API page "
            f"(a JSON {type(value).__name__}, not an object)"
        )


def _full_id(value: Any, kind: str, where: str, field: str = "id") -> str:
    """An OpenAlex id as the snapshot writes it (``https://openalex.org/W…``); the short
    form some API clients keep (``W…``) is completed so that ids agree across files."""
    if isinstance(value, str):
        if value.startswith(ID_PREFIX):
            tail = value[len(ID_PREFIX) :]
        else:
            tail = value
        if tail[:1].upper() == kind and tail[1:].isdigit():
            return ID_PREFIX + kind + tail[1:]
    if value is None:
        raise ValueError(f"{where}: missing field {field!r}")
    what = {"W": "work", "I": "institution"}[kind]
    raise ValueError(f"{where}: field {field!r} is not an OpenAlex {what} id: {value!r}")


def _optional_id(value: Any) -> str | None:
    """An id of a dehydrated object (author, institution), completed like :func:`_full_id`;
    None when absent (OpenAlex writes ``null`` for unmatched ones)."""
    if not isinstance(value, str) or not value:
        return None
    return value if value.startswith(ID_PREFIX) else ID_PREFIX + value


def _text(value: Any) -> str | None:
    """A string field's stripped value; None for null, empty or non-text values."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _raw_strings(authorship: dict[str, Any]) -> list[str]:
    """An authorship's raw affiliation strings, in order, each once: the current
    ``raw_affiliation_strings``, else those of ``affiliations``, else the 2022 form's single
    ``raw_affiliation_string``."""
    values = authorship.get("raw_affiliation_strings")
    if not values:
        values = [
            a.get("raw_affiliation_string")
            for a in authorship.get("affiliations") or ()
            if isinstance(a, dict)
        ]
    if not values:
        values = [authorship.get("raw_affiliation_string")]
    out: list[str] = []
    for value in values:
        text = _text(value)
        if text is None:
            continue
        if text.startswith("[") and text.endswith("]"):
            # Some MAG-era strings are wrapped in brackets; the geocoder reads the last
            # segment as the country, so "USA]" must lose its bracket.
            text = text[1:-1].strip()
        if text and text not in out:
            out.append(text)
    return out


def _linked_strings(authorship: dict[str, Any]) -> dict[str, str]:
    """The first raw affiliation string OpenAlex matched to each institution id
    (``affiliations``: the form of 2024 on)."""
    linked: dict[str, str] = {}
    for affiliation in authorship.get("affiliations") or ():
        if not isinstance(affiliation, dict):
            continue
        text = _text(affiliation.get("raw_affiliation_string"))
        if text is None:
            continue
        for iid in affiliation.get("institution_ids") or ():
            full = _optional_id(iid)
            if full is not None:
                linked.setdefault(full, text)
    return linked


def _field(work: dict[str, Any]) -> str | None:
    """``primary_topic.field.display_name`` (works before 2024 have no topics: None)."""
    topic = work.get("primary_topic")
    if not isinstance(topic, dict):
        return None
    field = topic.get("field")
    return _text(field.get("display_name")) if isinstance(field, dict) else None


def _year(work: dict[str, Any]) -> int | None:
    """``publication_year``, else the year of ``publication_date``; None if neither."""
    year = work.get("publication_year")
    if isinstance(year, int) and not isinstance(year, bool):
        return year
    date = work.get("publication_date")
    if isinstance(date, str) and date[:4].isdigit():
        return int(date[:4])
    return None


def _work_types(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    try:
        return frozenset(str(v).strip().lower() for v in value)
    except TypeError:
        raise ValueError(f"option 'work_types': not a list of types: {value!r}") from None


def _institution_table(value: Any) -> pd.DataFrame | None:
    """The ``institutions`` option as a frame indexed by full institution id (first
    occurrence of an id wins: snapshot folders repeat entities across update dates)."""
    if value is None:
        return None
    if not isinstance(value, pd.DataFrame):
        raise ValueError("option 'institutions': not a table of institutions")
    if "id" not in value.columns:
        raise ValueError("option 'institutions': missing column 'id'")
    ids = value["id"].astype(object).where(value["id"].notna(), "").astype(str)
    short = ~ids.str.startswith(ID_PREFIX) & ids.ne("")
    if short.any():
        ids = ids.where(~short, ID_PREFIX + ids)
    table = value.assign(id=ids.to_numpy(dtype=object))
    table = table[table["id"].ne("").to_numpy()].drop_duplicates("id", keep="first")
    return table.set_index("id")


def parse(data: bytes, *, file: str, options: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One OpenAlex works file (snapshot JSON Lines or an API page) as record rows.

    Parameters
    ----------
    data : bytes
        The file, decompressed.
    file : str
        Its name (for the caller's bookkeeping; messages name lines and fields).
    options : mapping, optional
        ``work_types``: types kept (default ``["article"]``; None keeps all; the old
        ``journal-article`` counts as ``article``). ``institutions``: the institutions
        entity as :func:`parse_institutions` returns it; its coordinates, city, region and
        country fill the rows of institutions it holds.

    Returns
    -------
    pandas.DataFrame
        ``core.readers.common.READER_COLUMNS`` then ``author`` (author id),
        ``institution_id`` and ``ror``: one row per (work, authorship, institution); an
        authorship without institutions gives one row per raw affiliation string (as
        ``address``), one with neither a ``no_address`` row, and so does a work without
        authorships. ``attrs["skipped"]``: works of other types left out,
        ``attrs["skipped_types"]`` their count per type, ``attrs["records"]`` the lines read.

    Raises
    ------
    ValueError
        One line naming the first bad line or field.
    """
    options = dict(options or {})
    types = _work_types(options.get("work_types", list(DEFAULT_WORK_TYPES)))
    institutions = _institution_table(options.get("institutions"))
    text = _decode(data)

    # One tuple per output row (work, year, line, field, authorship, author, institution,
    # ror, organization, country, address, reason): json.loads is the cost, not these.
    out: list[tuple[Any, ...]] = []
    skipped: dict[str, int] = {}

    for line, where, work in _objects(text):
        if not isinstance(work, dict):
            raise ValueError(f"{where}: not a JSON object but a {type(work).__name__}")
        work_id = _full_id(work.get("id"), "W", where)
        kind = work.get("type")
        kind = LEGACY_TYPES.get(kind, kind) if isinstance(kind, str) else None
        if types is not None and kind not in types:
            skipped[str(kind)] = skipped.get(str(kind), 0) + 1
            continue
        if "authorships" not in work:
            raise ValueError(f"{where}: missing field 'authorships'")
        authorships = work["authorships"] or []
        if not isinstance(authorships, list):
            raise ValueError(f"{where}: field 'authorships' is not a list")
        head = (work_id, _year(work), line, _field(work))
        if not authorships:
            out.append((*head, 0, None, None, None, None, None, None, NO_AUTHORSHIP))
            continue
        for k, authorship in enumerate(authorships):
            if not isinstance(authorship, dict):
                raise ValueError(f"{where}: authorships[{k}] is not an object")
            who = authorship.get("author")
            who = _optional_id(who.get("id")) if isinstance(who, dict) else None
            raws = _raw_strings(authorship)
            # OpenAlex writes an all-null object for an unmatched institution in some years.
            insts = [
                i
                for i in authorship.get("institutions") or ()
                if isinstance(i, dict) and (i.get("id") or i.get("display_name"))
            ]
            if insts:
                linked = _linked_strings(authorship)
                # One raw string is where all of the authorship's institutions were matched
                # from: a better address for the geocoder than an institution's name.
                only = raws[0] if len(raws) == 1 else None
                for inst in insts:
                    iid = _optional_id(inst.get("id"))
                    name = _text(inst.get("display_name"))
                    out.append(
                        (
                            *head,
                            k,
                            who,
                            iid,
                            _text(inst.get("ror")),
                            name,
                            _text(inst.get("country_code")),
                            (linked.get(iid) if iid else None) or only or name,
                            None,
                        )
                    )
            elif raws:
                countries = [c for c in authorship.get("countries") or () if _text(c)]
                # OpenAlex derives countries from the strings too; one country is all of
                # theirs, several cannot be told apart.
                code = _text(countries[0]) if len(countries) == 1 else None
                for raw in raws:
                    out.append((*head, k, who, None, None, None, code, raw, None))
            else:
                out.append((*head, k, who, None, None, None, None, None, NO_INSTITUTION))

    n = len(out)
    names = ("doc_id", "year", "row", "field", "authorship", "author", "institution_id", "ror")
    names += ("organization", "country", "address", "no_address")
    values = dict(zip(names, (list(c) for c in zip(*out, strict=True)), strict=True)) if n else {}

    def column(name: str) -> np.ndarray:
        return np.asarray(values.get(name, []), dtype=object)

    doc_codes = pd.factorize(column("doc_id"))[0]
    columns: dict[str, Any] = {
        "source": np.full(n, SOURCE, dtype=object),
        "doc_id": column("doc_id"),
        "year": pd.array(values.get("year", []), dtype="Int64"),
        "country": column("country"),
        "address": column("address"),
        # Keyed by doc_id, not line: a work written twice in one file still counts 1.
        "weight": author_weights(doc_codes, values.get("authorship", [])),
        "organization": column("organization"),
        "field": column("field"),
        "row": np.asarray(values.get("row", []), dtype=np.int64),
        "no_address": column("no_address"),
        "author": column("author"),
        "institution_id": column("institution_id"),
        "ror": column("ror"),
    }
    if institutions is not None and n:
        columns.update(_placed(institutions, columns["institution_id"], columns["country"]))
    frame = reader_frame(columns, n)
    frame.attrs["skipped"] = sum(skipped.values())
    frame.attrs["skipped_types"] = skipped
    # ``row`` counts lines: a piece of a larger file shifts the next piece's rows by these.
    frame.attrs["records"] = text.count("\n")
    return frame


def _placed(table: pd.DataFrame, ids: np.ndarray, country: np.ndarray) -> dict[str, np.ndarray]:
    """``lat, lon, city, state, country`` of each row's institution from the institutions
    table (rows of institutions it lacks keep the work's country and no coordinates)."""
    position = table.index.get_indexer(pd.Index(ids, dtype=object))
    found = position >= 0
    where = np.where(found, position, 0)

    def taken(name: str, numeric: bool) -> np.ndarray:
        if name not in table.columns or not len(table):
            return np.full(len(ids), np.nan) if numeric else np.full(len(ids), None, object)
        values = table[name]
        if numeric:
            values = pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan)
            return np.where(found, values[where], np.nan)
        values = values.astype(object).where(values.notna(), None).to_numpy(dtype=object)
        return np.where(found, values[where], None)

    table_country = taken("country_code", False)
    if "geo.country_code" in table.columns:
        geo_country = taken("geo.country_code", False)
        table_country = np.where(pd.isna(table_country), geo_country, table_country)
    return {
        "lat": taken("geo.latitude", True),
        "lon": taken("geo.longitude", True),
        "city": taken("geo.city", False),
        "state": taken("geo.region", False),
        "country": np.where(pd.isna(table_country), country, table_country),
    }


def parse_institutions(data: bytes) -> pd.DataFrame:
    """The OpenAlex institutions entity (snapshot JSON Lines or API pages) as the table the
    ``institutions`` option of :func:`parse` takes.

    Parameters
    ----------
    data : bytes
        One file of ``data/institutions/updated_date=*/part_*`` (decompressed), or an API
        page of ``/institutions``.

    Returns
    -------
    pandas.DataFrame
        :data:`INSTITUTION_COLUMNS`: ``id`` (full OpenAlex id), ``display_name``, ``ror``,
        ``country_code`` (the entity's, else ``geo.country_code``), ``geo.city``,
        ``geo.region``, ``geo.latitude``, ``geo.longitude`` (float, NaN when absent).

    Raises
    ------
    ValueError
        One line naming the first bad line or field.
    """
    rows: list[tuple[Any, ...]] = []
    for _, where, entity in _objects(_decode(data)):
        if not isinstance(entity, dict):
            raise ValueError(f"{where}: not a JSON object")
        geo = entity.get("geo")
        geo = geo if isinstance(geo, dict) else {}
        rows.append(
            (
                _full_id(entity.get("id"), "I", where),
                _text(entity.get("display_name")),
                _text(entity.get("ror")),
                _text(entity.get("country_code")) or _text(geo.get("country_code")),
                _text(geo.get("city")),
                _text(geo.get("region")),
                _number(geo.get("latitude")),
                _number(geo.get("longitude")),
            )
        )
    frame = pd.DataFrame(rows, columns=list(INSTITUTION_COLUMNS))
    for name in ("geo.latitude", "geo.longitude"):
        frame[name] = frame[name].astype(np.float64)
    return frame


def _number(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return float("nan")


def piece_kind(head: bytes, *, file: str) -> str | None:
    """How a works file is cut into pieces (:mod:`core.readers.pieces`): snapshot lines one
    per line; an API page (a ``.json`` file, or JSON spread over lines) whole."""
    first = head.removeprefix(b"\xef\xbb\xbf").lstrip().split(b"\n", 1)[0].strip()
    if file.lower().endswith(".json") or first in (b"{", b"["):
        return None
    return "jsonl"
