"""The report of a real run, opened in a real headless browser (Debian's chromium and
chromium-driver, driven by selenium).

Locally the tests skip when the browser is not installed; ``.ci/run`` installs it and sets
``ICRANK_REQUIRE_BROWSER``, under which they fail instead.
"""

from __future__ import annotations

import http.server
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from flows.config import load_config
from flows.run import run_ranking
from tests.support import PNG_MAGIC, only_run

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WINDOW = (1366, 900)


def _browser_or_skip() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    message = f"{CHROMIUM} and {CHROMEDRIVER} are needed (apt-get install chromium chromium-driver)"
    if os.environ.get("ICRANK_REQUIRE_BROWSER"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        # No background traffic of the browser's own: the page is the only thing tested.
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    from distributed import Client, LocalCluster

    folder = tmp_path_factory.mktemp("tileless")
    overrides = {"demo": {"scale": 0.05}, "report": {"tiles": False}}
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        run_ranking(load_config(overrides=overrides), [], str(folder), client=client)
    return only_run(folder)


def _severe(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_the_tileless_report_loads_nothing_shows_every_cluster_and_fits_1366_px(
    browser, demo_run, tmp_path
):
    driver = browser
    driver.get((demo_run / "report.html").as_uri())
    assert _severe(driver) == []
    features = json.loads((demo_run / "clusters.geojson").read_text())["features"]
    assert len(features) > 50
    assert driver.execute_script("return window.icrankMap.clusters") == len(features)
    paths = driver.execute_script(
        "return document.querySelectorAll('#icrank-map path.icrank-cluster').length"
    )
    assert paths == len(features)
    ranked = pd.read_parquet(demo_run / "rankings.parquet")
    assert driver.execute_script("return window.icrankMap.centres") == len(ranked)
    # Tile-less: no request at all, neither tiles nor anything the page names.
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources == []
    assert driver.execute_script("return document.querySelectorAll('img.leaflet-tile').length") == 0

    width = driver.execute_script("return window.innerWidth")
    assert width <= WINDOW[0]
    assert driver.execute_script("return document.documentElement.scrollWidth") <= width
    # The tables fit their columns: none needs its horizontal scroll bar.
    overflowing = driver.execute_script(
        "return [...document.querySelectorAll('section .scroll')]"
        ".filter(e => e.closest('#ranking, #comparison, #profiles, #intensity, #economies'))"
        ".filter(e => e.scrollWidth > e.clientWidth + 1)"
        ".map(e => e.closest('section').id)"
    )
    assert overflowing == []

    shot = tmp_path / "report.png"
    assert driver.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(PNG_MAGIC) and shot.stat().st_size > 20_000


def test_a_cluster_name_in_the_table_opens_its_profile_on_the_map(browser, demo_run, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    driver.get((demo_run / "report.html").as_uri())
    top = pd.read_parquet(demo_run / "rankings.parquet").sort_values("rank").iloc[0]
    link = driver.find_element(By.CSS_SELECTOR, f'#ranking a[data-cluster="{top["cluster_id"]}"]')
    driver.execute_script("arguments[0].click()", link)
    popup = WebDriverWait(driver, 10).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, ".leaflet-popup-content"))
    )
    text = popup.text
    assert text.startswith(f"1. {top['name']}")
    assert f"Top applicant: {top['top_applicant']}" in text
    assert f"Top technology field: {top['top_tech_field']}" in text
    assert f"Cluster id {top['cluster_id']}" in text
    assert _severe(driver) == []
    shot = tmp_path / "profile.png"
    assert popup.screenshot(str(shot)) and shot.read_bytes().startswith(PNG_MAGIC)


class _Tiles(http.server.BaseHTTPRequestHandler):
    # A one-colour tile for every request; the requested paths are kept.
    requested: list[str] = []
    png = b""

    def do_GET(self) -> None:  # noqa: N802 (the handler's name is http.server's)
        type(self).requested.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.png)))
        self.end_headers()
        self.wfile.write(self.png)

    def log_message(self, *args: object) -> None:
        pass


def test_with_tiles_the_map_fetches_them_from_the_configured_server(browser, demo_run, tmp_path):
    import io

    from PIL import Image

    from flows.report import render_report_html

    tile = io.BytesIO()
    Image.new("RGB", (256, 256), (225, 228, 232)).save(tile, format="PNG")
    _Tiles.png = tile.getvalue()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Tiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        template = f"http://127.0.0.1:{server.server_port}/tiles/{{z}}/{{x}}/{{y}}.png"
        # The demo run's outputs, rendered again with tiles on.
        page = render_report_html(
            pd.read_parquet(demo_run / "rankings.parquet"),
            pd.read_csv(demo_run / "economies.csv"),
            json.loads((demo_run / "summary.json").read_text()),
            b"",
            top=100,
            clusters=json.loads((demo_run / "clusters.geojson").read_text()),
            noise=pd.read_parquet(demo_run / "noise.parquet"),
            tiles=template,
        )
        (tmp_path / "report.html").write_text(page, encoding="utf-8")
        driver = browser
        driver.get((tmp_path / "report.html").as_uri())
        driver.execute_script(
            "return new Promise(r => window.icrankMap.map.whenReady(() => setTimeout(r, 500)))"
        )
        assert _Tiles.requested and all(p.startswith("/tiles/") for p in _Tiles.requested)
        resources = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert resources and all(r.startswith(template.split("{z}")[0]) for r in resources)
        assert _severe(driver) == []
    finally:
        server.shutdown()
