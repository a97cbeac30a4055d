"""Take the README's screenshots (the matrix, a diff) from a running, onboarded demo.

    make demo && canonflow onboard   # with the demo's CLI environment
    uv run python -m scripts.readme_screenshots --url http://127.0.0.1:8000 --token cf_...

Writes docs/screenshots/matrix.png and docs/screenshots/diff.png (a 1280 x 760 viewport).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--env", default="dev", help="the environment whose drift to show")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    chromium = os.environ.get("CANONFLOW_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        page.goto(f"{args.url}/signin?next=/matrix")
        page.fill("#token", args.token)
        page.click("button[type=submit]")
        page.wait_for_url(f"{args.url}/matrix")
        drifted = page.locator("td.warn a")
        for index in range(drifted.count()):  # a drift in a node's parameters, not a rename
            drifted.nth(index).click()  # opens the cell's detail beside the grid
            page.wait_for_load_state("networkidle")
            if page.get_by_text("nodes changed").count():
                break
        page.screenshot(path=str(OUT / "matrix.png"))
        href = page.locator("a", has_text="full diff").first.get_attribute("href")
        page.goto(args.url + (href or f"/matrix?state=drift&env={quote(args.env)}"))
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(OUT / "diff.png"))
        browser.close()
    for name in ("matrix.png", "diff.png"):
        print(f"{OUT / name}: {(OUT / name).stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
