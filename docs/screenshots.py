"""Screenshots of a run's report for the README: the page at 1366 px and one cluster's profile.

    icrank run --output /tmp/shots --config docs/screenshots.yaml
    python docs/screenshots.py /tmp/shots/<run-id> docs/

Needs Debian's chromium and chromium-driver (``apt-get install chromium chromium-driver``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder (holding report.html)")
    parser.add_argument("out", type=Path, help="folder for report.png and profile.png")
    parser.add_argument("--rank", type=int, default=1, help="the cluster whose profile is shown")
    args = parser.parse_args()
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--window-size=1366,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get((args.run / "report.html").resolve().as_uri())
        time.sleep(1.0)
        driver.save_screenshot(str(args.out / "report.png"))
        links = driver.find_elements(By.CSS_SELECTOR, "#ranking tbody a[data-cluster]")
        driver.execute_script("arguments[0].click()", links[args.rank - 1])
        WebDriverWait(driver, 10).until(
            ec.visibility_of_element_located((By.CSS_SELECTOR, ".leaflet-popup-content"))
        )
        time.sleep(1.0)  # the map's zoom animation
        driver.find_element(By.ID, "icrank-map").screenshot(str(args.out / "profile.png"))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
