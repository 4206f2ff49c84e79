"""The ``icrank`` command line."""

from __future__ import annotations

import sys
import time

import click

from flows import __version__

SYNTHETIC_NOTICE = (
    "Demo data are SYNTHETIC: random points around real GeoNames cities, not WIPO figures."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="icrank")
def main() -> None:
    """Open, scalable innovation cluster ranking on Dask."""


@main.command()
@click.option("--points", default=200_000, show_default=True, help="Synthetic points to cluster.")
@click.option("--eps-km", default=13.0, show_default=True, help="DBSCAN radius in km.")
@click.option("--seed", default=0, show_default=True, help="Seed of the synthetic world.")
def run(points: int, eps_km: float, seed: int) -> None:
    """Cluster the embedded synthetic demo world and print its largest clusters.

    Provisional: the full ranking flow replaces this command.
    """
    import numpy as np
    from sklearn.neighbors import BallTree

    from core import GeoDBSCAN
    from core.demo_world import sample_city_points
    from core.gazetteer import GEONAMES_CREDIT, load_cities

    click.echo(SYNTHETIC_NOTICE)
    cities = load_cities()
    X = sample_city_points(cities, points, seed=seed)
    min_samples = max(points / 2000, 1)
    start = time.perf_counter()
    try:
        model = GeoDBSCAN(eps_km=eps_km, min_samples=min_samples).fit(X)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    elapsed = time.perf_counter() - start
    labels = model.labels_
    click.echo(
        f"{points:,} points, eps {eps_km} km, min_samples {min_samples:g}: "
        f"{model.n_clusters_} clusters over {model.n_tiles_} tiles in {elapsed:.1f} s"
    )
    if model.n_clusters_:
        sizes = np.bincount(labels[labels >= 0])
        top = np.argsort(-sizes, kind="stable")[:10]
        tree = BallTree(np.radians(cities[["lat", "lon"]].to_numpy()), metric="haversine")
        for rank, k in enumerate(top, 1):
            centre = X[labels == k].mean(axis=0)
            _, idx = tree.query(np.radians(centre)[None, :], k=1)
            city = cities.iloc[int(idx[0, 0])]
            click.echo(f"{rank:>3}. {city['name']} ({city['country']}): {sizes[k]:,} points")
    click.echo(GEONAMES_CREDIT)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
