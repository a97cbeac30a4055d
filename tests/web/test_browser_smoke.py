"""The Playwright / Chromium pair works: if an upgrade of either breaks the other, this fails
first and says which versions were paired."""

from __future__ import annotations

import os
from importlib.metadata import version

from playwright.sync_api import Browser


def test_playwright_drives_the_systems_chromium(browser: Browser) -> None:
    executable = os.environ.get("CANONFLOW_CHROMIUM", "/usr/bin/chromium")
    page = browser.new_page()
    try:
        page.set_content(
            "<meta charset='utf-8'><button onclick='this.textContent=\"ok\"'>go</button>"
        )
        page.click("button")
        assert page.text_content("button") == "ok", (
            f"playwright {version('playwright')} could not drive {executable} "
            f"(Chromium {browser.version})"
        )
    finally:
        page.close()
    assert int(browser.version.split(".")[0]) >= 120, f"Chromium {browser.version} is too old"
