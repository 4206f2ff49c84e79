"""Coastlines, land borders and land of the vendored Natural Earth outlines, as lon/lat arrays.

The outlines are world-atlas 2.0.2's TopoJSON files in ``flows/report/assets``
(``countries-50m.json``, ``countries-110m.json``; see the README there): every shared
stretch of outline is stored once as an *arc*, quantised and delta-encoded, and country
rings list the arcs they follow. This module decodes them with numpy and classifies arcs the
way topojson's ``mesh`` with a filter does: an arc used by one country only is coast, one
shared by two countries is a land border.

Pure functions: no network, no clock; the files are read through :mod:`importlib.resources`
(so they are found in an installed wheel too) and the decoded results cached per
resolution. Cached arrays are returned read-only and lists are fresh copies, so a caller
cannot corrupt the cache.

world-atlas keeps polygons whole across the antimeridian, as d3 draws them on the sphere: a
ring of Russia or Fiji steps from 179.9° to −180° and back, and Antarctica's rings circle the
south pole. On a flat lon/lat map such a step would be a streak across the whole map, so lines
are split at it and rings are cut at ±180° into pieces that each stay inside −180…180.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

__all__ = [
    "RESOLUTIONS",
    "country_lines",
    "country_polygons",
    "decode_arcs",
    "land_rings",
    "lines_geojson",
    "ring_coordinates",
    "split_at_antimeridian",
]

RESOLUTIONS = ("50m", "110m")
"""The Natural Earth scales vendored: 1:50 million (detailed) and 1:110 million (coarse)."""

# Tolerance (degrees) for "on the frame's edge": quantised ±180 decodes to 180 ± 1e-12.
_EDGE_EPS = 1e-6
# Natural Earth closes Antarctica along a line at −89.999°, the cut of a polygon that
# covers the pole: an outline, but no coast.
_POLAR_CUT_LAT = 89.99


def _check_resolution(resolution: str) -> str:
    if resolution not in RESOLUTIONS:
        choices = ", ".join(f'"{r}"' for r in RESOLUTIONS)
        raise ValueError(f"unknown basemap resolution {resolution!r}: choose one of {choices}")
    return resolution


@lru_cache(maxsize=len(RESOLUTIONS))
def _topology(resolution: str) -> dict[str, Any]:
    source = resources.files("flows.report").joinpath("assets", f"countries-{resolution}.json")
    return json.loads(source.read_text(encoding="utf-8"))


def decode_arcs(topology: Mapping[str, Any]) -> list[np.ndarray]:
    """The arcs of a TopoJSON topology as float64 positions.

    Parameters
    ----------
    topology : Mapping
        A parsed TopoJSON ``Topology``. With a ``transform`` (a quantised topology), each
        arc's positions are integer deltas from the previous position, the first from 0, and
        position = cumulative sum × ``scale`` + ``translate``; without one, positions are
        absolute.

    Returns
    -------
    list of numpy.ndarray
        One ``(n, 2)`` float64 array of ``x, y`` (longitude, latitude) per arc, in arc order.
    """
    transform = topology.get("transform")
    arcs: list[np.ndarray] = []
    if transform is None:
        for arc in topology["arcs"]:
            arcs.append(np.asarray(arc, dtype=np.float64).reshape(-1, 2))
        return arcs
    scale = np.asarray(transform["scale"], dtype=np.float64)
    translate = np.asarray(transform["translate"], dtype=np.float64)
    for arc in topology["arcs"]:
        # Positions may carry extra dimensions (elevation...) after x, y; only x, y are decoded.
        deltas = np.asarray([p[:2] for p in arc], dtype=np.int64).reshape(-1, 2)
        # Integer cumulative sums: exact, so arcs meeting at a point meet at the same float.
        arcs.append(np.cumsum(deltas, axis=0) * scale + translate)
    return arcs


@lru_cache(maxsize=len(RESOLUTIONS))
def _arcs(resolution: str) -> tuple[np.ndarray, ...]:
    # Decoded once per resolution for the lines, the countries and the land alike.
    return tuple(_readonly(arc) for arc in decode_arcs(_topology(resolution)))


def ring_coordinates(arcs: Sequence[np.ndarray], indices: Sequence[int]) -> np.ndarray:
    """The positions of a ring (or line) that follows the given arcs in turn.

    Parameters
    ----------
    arcs : sequence of numpy.ndarray
        Decoded arcs (:func:`decode_arcs`).
    indices : sequence of int
        Arc indices; a negative index ``~i`` (that is ``-i - 1``) means arc ``i`` reversed.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` positions; each arc after the first starts where the previous one ended,
        so that shared position is kept once.
    """
    parts: list[np.ndarray] = []
    for k, index in enumerate(indices):
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        parts.append(arc if k == 0 else arc[1:])
    if not parts:
        return np.empty((0, 2), dtype=np.float64)
    return np.concatenate(parts)


def _polygon_arcs(geometry: Mapping[str, Any]) -> list[list[list[int]]]:
    # Polygons as lists of rings of arc indices; other geometry types have no area.
    kind = geometry.get("type")
    if kind == "Polygon":
        return [geometry["arcs"]]
    if kind == "MultiPolygon":
        return list(geometry["arcs"])
    if kind == "GeometryCollection":
        return [p for g in geometry.get("geometries", []) for p in _polygon_arcs(g)]
    return []


def split_at_antimeridian(line: np.ndarray) -> list[np.ndarray]:
    """Cut a lon/lat line where it jumps across ±180°, and drop its edges of the frame.

    Parameters
    ----------
    line : numpy.ndarray
        ``(n, 2)`` longitude, latitude.

    Returns
    -------
    list of numpy.ndarray
        The pieces (each of at least two positions) between cut segments. A segment is cut
        where consecutive longitudes differ by more than 180° (the step of a polygon that
        crosses the antimeridian, drawn straight it would streak across the map), where both
        ends lie on the same ±180° meridian, or both on the polar cut line of Antarctica: those
        last two are where Natural Earth closes a polygon at the frame's edge, not outlines.
    """
    line = np.asarray(line, dtype=np.float64)
    if len(line) < 2:
        return []
    lon, lat = line[:, 0], line[:, 1]
    jump = np.abs(np.diff(lon)) > 180.0
    on_meridian = (np.abs(np.abs(lon) - 180.0) < _EDGE_EPS)[:-1] & (
        np.abs(lon[1:] - lon[:-1]) < _EDGE_EPS
    )
    polar = (np.abs(lat) >= _POLAR_CUT_LAT)[:-1] & (np.abs(lat) >= _POLAR_CUT_LAT)[1:]
    cut = np.flatnonzero(jump | on_meridian | polar)
    if not len(cut):
        return [line]
    # Segment i joins positions i and i + 1: cutting it ends a piece at i, starts one at i + 1.
    starts = np.concatenate(([0], cut + 1))
    stops = np.concatenate((cut + 1, [len(line)]))
    return [line[a:b] for a, b in zip(starts.tolist(), stops.tolist(), strict=True) if b - a >= 2]


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype=np.float64)
    array.setflags(write=False)
    return array


@lru_cache(maxsize=len(RESOLUTIONS))
def _lines(resolution: str) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    topology = _topology(resolution)
    arcs = _arcs(resolution)
    users: list[list[int]] = [[] for _ in arcs]
    for country, geometry in enumerate(topology["objects"]["countries"]["geometries"]):
        for polygon in _polygon_arcs(geometry):
            for ring in polygon:
                for index in ring:
                    users[index if index >= 0 else ~index].append(country)
    coast: list[np.ndarray] = []
    border: list[np.ndarray] = []
    for arc, used_by in zip(arcs, users, strict=True):
        # One use: the outline of one country against the sea. Two countries: their border.
        # An arc used twice by the same country (a degenerate one-point arc in 110m North
        # Korea) is neither, and an arc of no country is no outline.
        if len(used_by) == 1:
            target = coast
        elif len(set(used_by)) >= 2:
            target = border
        else:
            continue
        target.extend(_readonly(piece) for piece in split_at_antimeridian(arc))
    return tuple(coast), tuple(border)


def country_lines(resolution: str = "50m") -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Coastlines and land borders of the world's countries.

    Parameters
    ----------
    resolution : {"50m", "110m"}, default "50m"
        Natural Earth scale: 1:50 million (about 80,000 positions) or 1:110 million (about
        8,000).

    Returns
    -------
    coastlines, borders : list of numpy.ndarray
        Read-only ``(n, 2)`` float64 longitude, latitude arrays. An arc used by exactly one
        country ring is coast, an arc shared by two different countries a land border
        (topojson's ``mesh`` with a filter). Lines are split where they would cross the
        antimeridian (:func:`split_at_antimeridian`), so no segment spans more than 180° of
        longitude.

    Raises
    ------
    ValueError
        For a resolution other than "50m" and "110m".
    """
    coast, border = _lines(_check_resolution(resolution))
    return list(coast), list(border)


def _unwrap(ring: np.ndarray) -> np.ndarray:
    # Longitudes made continuous: each step across the antimeridian is taken the short way.
    lon = ring[:, 0]
    step = np.diff(lon)
    step = step - 360.0 * np.round(step / 360.0)
    out = ring.copy()
    out[1:, 0] = lon[0] + np.cumsum(step)
    return out


def _clip(ring: np.ndarray, limit: float, keep_below: bool) -> np.ndarray:
    """Sutherland–Hodgman: a closed ring cut to one side of the meridian ``limit``."""
    x = ring[:, 0]
    inside = x <= limit if keep_below else x >= limit
    start, end = ring[:-1], ring[1:]
    crosses = inside[:-1] != inside[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(crosses, (limit - start[:, 0]) / (end[:, 0] - start[:, 0]), 0.0)
    crossing = start + t[:, None] * (end - start)
    crossing[:, 0] = np.where(crosses, limit, crossing[:, 0])
    # Per edge: its start if inside, then where it crosses the limit if it does; in edge
    # order this is the classic algorithm's output, rotated by one position.
    candidates = np.stack((start, crossing), axis=1).reshape(-1, 2)
    keep = np.stack((inside[:-1], crosses), axis=1).reshape(-1)
    out = candidates[keep]
    if len(out) < 3:
        return np.empty((0, 2), dtype=np.float64)
    return np.concatenate((out, out[:1]))


def _area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))


def _flat_rings(ring: np.ndarray) -> list[np.ndarray]:
    """A closed ring of the sphere as closed rings of the −180…180 frame."""
    if len(ring) < 4:
        return []
    if not (np.abs(np.diff(ring[:, 0])) > 180.0).any():
        return [ring]
    flat = _unwrap(ring)
    turn = flat[-1, 0] - flat[0, 0]
    if abs(turn) > 180.0:
        # A ring around a pole (110m Antarctica): its unwrapped outline runs once around the
        # world; closing it through the pole gives the plane polygon that covers it.
        pole = -90.0 if float(flat[:, 1].mean()) < 0 else 90.0
        closure = np.array([[flat[-1, 0], pole], [flat[0, 0], pole], flat[0]])
        flat = np.concatenate((flat, closure))
    low, high = float(flat[:, 0].min()), float(flat[:, 0].max())
    pieces: list[np.ndarray] = []
    # The unwrapped ring may reach past ±180°; copies shifted by a whole turn bring each of
    # its parts into the frame, where the clip keeps only what lies inside it.
    for shift in (-720.0, -360.0, 0.0, 360.0, 720.0):
        if high + shift <= -180.0 or low + shift >= 180.0:
            continue
        shifted = flat + np.array([shift, 0.0])
        piece = _clip(_clip(shifted, -180.0, keep_below=False), 180.0, keep_below=True)
        if len(piece) and abs(_area(piece)) > 1e-12:
            pieces.append(piece)
    return pieces


def _readonly_rings(rings: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    return tuple(_readonly(piece) for ring in rings for piece in _flat_rings(ring))


@lru_cache(maxsize=len(RESOLUTIONS))
def _countries(resolution: str) -> tuple[tuple[str, str | None, tuple[np.ndarray, ...]], ...]:
    topology = _topology(resolution)
    arcs = _arcs(resolution)
    out: list[tuple[str, str | None, tuple[np.ndarray, ...]]] = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        rings = [ring_coordinates(arcs, r) for p in _polygon_arcs(geometry) for r in p]
        name = str(geometry.get("properties", {}).get("name", ""))
        iso = geometry.get("id")
        out.append((name, None if iso is None else str(iso), _readonly_rings(rings)))
    return tuple(out)


def country_polygons(resolution: str = "50m") -> list[tuple[str, str | None, list[np.ndarray]]]:
    """The countries of Natural Earth's Admin 0 map with their outlines.

    Parameters
    ----------
    resolution : {"50m", "110m"}, default "50m"
        Natural Earth scale.

    Returns
    -------
    list of (str, str or None, list of numpy.ndarray)
        Per country, in file order: its name (``properties.name``, e.g. "France"), its ISO
        3166-1 numeric code as a string (e.g. "250"; None for the few places without one, such
        as Kosovo), and its rings: read-only closed ``(n, 2)`` longitude, latitude arrays,
        exteriors and holes together (South Africa's rings include Lesotho as a hole). A point
        is inside the country when an odd number of its rings contain it (the even–odd rule;
        :meth:`matplotlib.path.Path.contains_point` of a compound path tests the union of its
        rings instead). Exteriors run clockwise, holes anticlockwise. Rings that cross the
        antimeridian are cut there into pieces within −180…180.

    Raises
    ------
    ValueError
        For a resolution other than "50m" and "110m".
    """
    return [(n, i, list(r)) for n, i, r in _countries(_check_resolution(resolution))]


@lru_cache(maxsize=len(RESOLUTIONS))
def _land(resolution: str) -> tuple[np.ndarray, ...]:
    topology = _topology(resolution)
    arcs = _arcs(resolution)
    polygons = _polygon_arcs(topology["objects"]["land"])
    return _readonly_rings([ring_coordinates(arcs, r) for p in polygons for r in p])


def land_rings(resolution: str = "50m") -> list[np.ndarray]:
    """The land of the world (all countries merged) as rings.

    Parameters
    ----------
    resolution : {"50m", "110m"}, default "50m"
        Natural Earth scale.

    Returns
    -------
    list of numpy.ndarray
        Read-only closed ``(n, 2)`` longitude, latitude rings within −180…180, exteriors and
        holes (inland seas such as the Caspian) together, holes wound the other way round:
        filled as one path, by the even–odd or the non-zero rule, they cover the land only.

    Raises
    ------
    ValueError
        For a resolution other than "50m" and "110m".
    """
    return list(_land(_check_resolution(resolution)))


def _rounded_lines(lines: Sequence[np.ndarray], decimals: int) -> list[list[list[float]]]:
    out: list[list[list[float]]] = []
    for line in lines:
        # Adding 0.0 turns -0.0 into 0.0, which JSON writes shorter.
        rounded = np.round(line, decimals) + 0.0
        keep = np.ones(len(rounded), dtype=bool)
        keep[1:] = (rounded[1:] != rounded[:-1]).any(axis=1)
        rounded = rounded[keep]
        # Rounding moves no longitude across 180° of a neighbour's, but re-splitting keeps the
        # promise independent of that.
        for piece in split_at_antimeridian(rounded):
            out.append(piece.tolist())
    return out


def lines_geojson(resolution: str = "110m", *, decimals: int = 2) -> dict[str, Any]:
    """Coastlines and land borders as a small GeoJSON FeatureCollection.

    Parameters
    ----------
    resolution : {"50m", "110m"}, default "110m"
        Natural Earth scale; the coarse one keeps the document small enough to embed.
    decimals : int, default 2
        Decimal places kept of each coordinate (2: about a kilometre); consecutive positions
        equal after rounding are kept once, and lines left with fewer than two positions
        dropped.

    Returns
    -------
    dict
        A GeoJSON (RFC 7946) ``FeatureCollection`` of two ``Feature``\\ s, properties
        ``{"kind": "coast"}`` and ``{"kind": "border"}``, each a ``MultiLineString`` of
        ``[longitude, latitude]`` positions, split at the antimeridian as in
        :func:`country_lines`. A new dict on every call.

    Raises
    ------
    ValueError
        For a resolution other than "50m" and "110m".
    """
    coast, border = country_lines(resolution)
    features = [
        {
            "type": "Feature",
            "properties": {"kind": kind},
            "geometry": {"type": "MultiLineString", "coordinates": _rounded_lines(lines, decimals)},
        }
        for kind, lines in (("coast", coast), ("border", border))
    ]
    return {"type": "FeatureCollection", "features": features}
