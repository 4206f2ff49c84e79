"""The run's configuration: YAML defaults + schema, a ``--config`` file, environment, CLI.

Parsed once per run by :func:`load_config` into a frozen :class:`Config`; nothing here
runs at import time.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from core.sources import SOURCES
from flows.errors import ConfigError
from flows.types import RECORDS_FORMAT, InputSpec

ENV_PREFIX = "ICRANK__"
REDACTED = "***"
# Sections a run's id and manifest parameters leave out: where it computes does not change a
# ranking, and its inputs are fingerprinted file by file.
RUNTIME_KEYS = ("dask", "inputs", "read-piece-mib")
_SECRET_KEY = re.compile(r"secret|key|token|passw|credential|session|auth", re.IGNORECASE)


@dataclass(frozen=True)
class SourceParams:
    """Clustering and scoring parameters of one source."""

    eps_km: float
    min_weight: float | None
    min_share: float
    share_weight: float

    def min_weight_for(self, world_total: float) -> float:
        """The density threshold in documents, given the source's world total."""
        return self.min_weight if self.min_weight is not None else self.min_share * world_total


@dataclass(frozen=True)
class GeocodingParams:
    """How rows without coordinates are placed (``geocoding:`` in ``defaults.yaml``)."""

    enabled: bool
    accept_country_level: bool
    reject_ambiguous: bool
    aliases_url: str | None


@dataclass(frozen=True)
class MethodParams:
    """The method a run also ranks under, for comparison (``previous-method:``)."""

    label: str
    sources: dict[str, SourceParams]
    """The sources it counts, with their parameters (the run's, unless overridden)."""


@dataclass(frozen=True)
class Config:
    """Every parameter of a run, after all overrides. Keys mirror ``defaults.yaml``."""

    start_year: int | None
    end_year: int | None
    rounding_deg: float
    footprint_deg: float
    population_url: str | None
    names_url: str | None
    """A CSV of ``cluster_id, name``: names that replace the gazetteer's (``names-url``)."""
    previous_method: MethodParams | None
    """The method of ``rank_previous_method`` and the report's comparison; None: none."""
    report_tiles: bool | str
    """The interactive map's tiles (``report: tiles``): True for the default tile server, a
    ``{z}/{x}/{y}`` URL template for another one; False: the page fetches nothing."""
    economy_min_share: float
    noise_min_records: int
    top: int
    warn_rejected_share: float
    storage_options: dict[str, Any] = field(repr=False)
    inputs: tuple[InputSpec, ...]
    """The ``inputs:`` list (used when the command line names none)."""
    scheduler: str | None
    workers: int | None
    worker_memory: int | None
    """Bytes of memory per local worker (``dask: worker-memory``); None: Dask's default."""
    geocoding: GeocodingParams
    sources: dict[str, SourceParams]
    demo_scale: float
    demo_seed: int
    read_piece_bytes: int
    """Bytes a source reader reads at a time (``read-piece-mib``)."""
    raw: dict[str, Any] = field(repr=False)

    def redacted(self) -> dict[str, Any]:
        """The configuration as nested YAML keys, with secrets replaced by ``***``."""
        return redact(self.raw)

    def ranking_parameters(self) -> dict[str, Any]:
        """:meth:`redacted` without where a run computes and what it reads (``RUNTIME_KEYS``)."""
        return {k: v for k, v in self.redacted().items() if k not in RUNTIME_KEYS}


def redact(value: Any) -> Any:
    """A copy of ``value`` where every mapping entry whose key looks secret is ``***``."""
    if isinstance(value, Mapping):
        return {
            k: REDACTED if _SECRET_KEY.search(str(k)) and v not in (None, "") else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def default_settings() -> dict[str, Any]:
    """The packaged defaults as a nested dictionary."""
    text = resources.files("flows").joinpath("defaults.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _schema() -> dict[str, Any]:
    text = resources.files("flows").joinpath("config.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if (
            isinstance(value, Mapping)
            and isinstance(base.get(key), dict)
            # A method's sources are the ones named, not those merged with the defaults'.
            and key not in ("storage-options", "previous-method")
        ):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def env_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """Overrides from ``ICRANK__SECTION__KEY`` variables (``_`` in a key stands for ``-``).

    Values are parsed as YAML scalars, so ``null``, numbers and ``{...}`` work.
    """
    out: dict[str, Any] = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower().replace("_", "-") for part in name[len(ENV_PREFIX) :].split("__")]
        if not all(path):
            raise ConfigError(f"environment variable {name}: empty key")
        try:
            value = yaml.safe_load(environ[name]) if environ[name] != "" else None
        except yaml.YAMLError:
            raise ConfigError(f"environment variable {name}: not a YAML value") from None
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"environment variable {name} conflicts with another")
        node[path[-1]] = value
    return out


def _validate(settings: dict[str, Any]) -> None:
    import jsonschema

    # The schema checks each source's keys; which sources exist is core.sources' table.
    if isinstance(settings.get("sources"), Mapping):
        unknown = sorted(set(settings["sources"]) - set(SOURCES))
        if unknown:
            raise ConfigError(f"configuration sources: unknown key {unknown[0]!r}")
        missing = [s for s in SOURCES if s not in settings["sources"]]
        if missing:
            raise ConfigError(f"configuration sources: {missing[0]!r} is a required property")
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(settings), key=lambda e: list(map(str, e.path)))
    if errors:
        err = errors[0]
        where = ".".join(str(p) for p in err.path) or "(top level)"
        message = err.message
        if err.validator == "additionalProperties":
            message = message.replace("Additional properties are not allowed", "unknown key")
        raise ConfigError(f"configuration {where}: {message}")
    rounding, footprint = settings["rounding-deg"], settings["footprint-deg"]
    if not _divides(rounding, 90.0):
        raise ConfigError(f"rounding-deg {rounding} must divide 90 degrees exactly")
    if not _divides(footprint, 90.0) or not _divides(rounding, footprint):
        raise ConfigError(
            f"footprint-deg {footprint} must divide 90 degrees and be a multiple of "
            f"rounding-deg {rounding}"
        )
    window = settings["window"]
    if (
        window["start-year"] is not None
        and window["end-year"] is not None
        and window["start-year"] > window["end-year"]
    ):
        raise ConfigError(
            f"window: start-year {window['start-year']} is after end-year {window['end-year']}"
        )
    if all(settings["sources"][s]["share-weight"] == 0 for s in SOURCES):
        raise ConfigError("sources: at least one share-weight must be positive")


def _bytes_of(text: str | None, key: str) -> int | None:
    """A size such as ``3GB`` or ``512 MiB`` in bytes; None stays None."""
    if text is None:
        return None
    from dask.utils import parse_bytes

    try:
        size = int(parse_bytes(text))
    except ValueError:
        size = 0
    if size < 2**20:
        raise ConfigError(f"configuration {key}: {text!r} is not a size of at least 1 MiB (3GB)")
    return size


def _divides(step: float, whole: float) -> bool:
    ratio = whole / step
    return abs(ratio - round(ratio)) < 1e-6 * max(1.0, ratio)


def _source_params(p: Mapping[str, Any]) -> SourceParams:
    return SourceParams(
        eps_km=float(p["eps-km"]),
        min_weight=None if p["min-weight"] is None else float(p["min-weight"]),
        min_share=float(p["min-share"]),
        share_weight=float(p["share-weight"]),
    )


def load_config(
    config_file: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Build the run's configuration.

    Parameters
    ----------
    config_file : str, optional
        A YAML file with any subset of the keys of ``defaults.yaml``.
    environ : mapping, optional
        Environment variables; only ``ICRANK__…`` ones are read.
    overrides : mapping, optional
        Nested settings from command-line options; they win over everything.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        Unknown keys, values outside the schema, an unreadable file; one line each.
    """
    settings = default_settings()
    if config_file is not None:
        try:
            with open(config_file, encoding="utf-8") as fh:
                from_file = yaml.safe_load(fh)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {config_file} is not valid YAML: {exc}") from None
        if from_file is not None and not isinstance(from_file, Mapping):
            raise ConfigError(f"config file {config_file} must hold a mapping of settings")
        _merge(settings, from_file or {})
    _merge(settings, env_settings(environ or {}))
    _merge(settings, overrides or {})
    _validate(settings)
    sources = {s: _source_params(settings["sources"][s]) for s in SOURCES}
    previous = settings["previous-method"]
    previous_method = (
        None
        if previous is None
        else MethodParams(
            label=previous["label"],
            sources={
                s: _source_params({**settings["sources"][s], **(previous["sources"][s] or {})})
                for s in SOURCES
                if s in previous["sources"]
            },
        )
    )
    return Config(
        start_year=settings["window"]["start-year"],
        end_year=settings["window"]["end-year"],
        rounding_deg=float(settings["rounding-deg"]),
        footprint_deg=float(settings["footprint-deg"]),
        population_url=settings["population-url"],
        names_url=settings["names-url"],
        previous_method=previous_method,
        report_tiles=settings["report"]["tiles"],
        economy_min_share=float(settings["economy-min-share"]),
        noise_min_records=int(settings["noise-min-records"]),
        top=int(settings["top"]),
        warn_rejected_share=float(settings["warn-rejected-share"]),
        storage_options=dict(settings["storage-options"]),
        inputs=tuple(
            InputSpec(i["url"], i.get("format", RECORDS_FORMAT), dict(i.get("options") or {}))
            for i in settings["inputs"]
        ),
        scheduler=settings["dask"]["scheduler"],
        workers=settings["dask"]["workers"],
        worker_memory=_bytes_of(settings["dask"]["worker-memory"], "dask.worker-memory"),
        geocoding=GeocodingParams(
            enabled=bool(settings["geocoding"]["enabled"]),
            accept_country_level=bool(settings["geocoding"]["accept-country-level"]),
            reject_ambiguous=bool(settings["geocoding"]["reject-ambiguous"]),
            aliases_url=settings["geocoding"]["aliases-url"],
        ),
        sources=sources,
        demo_scale=float(settings["demo"]["scale"]),
        demo_seed=int(settings["demo"]["seed"]),
        read_piece_bytes=max(1, int(float(settings["read-piece-mib"]) * 2**20)),
        raw=settings,
    )
