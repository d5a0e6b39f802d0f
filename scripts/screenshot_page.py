"""Save docs/web-page.png: the page working the MatrixFlow post's example, with a wrong answer.

    python scripts/screenshot_page.py [PATH]

Starts `matrixflow serve` on a free port in this process, drives Debian's chromium through
Playwright (the same setup as tests/test_web_browser.py), and saves a full-page screenshot.
A script, not a test, so the suite never rewrites a tracked file.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from matrixflow.web.server import create_app

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


def main(path: str = str(ROOT / "docs" / "web-page.png")) -> int:
    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{server.server_port}/")
            page.wait_for_selector("#closed-form math")
            page.fill("#answer", "b @ (a * exp(X @ b)).T")
            page.click("#derive")
            page.wait_for_selector("#verdict-head")
            page.screenshot(path=path, full_page=True)
            browser.close()
    finally:
        server.shutdown()
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
