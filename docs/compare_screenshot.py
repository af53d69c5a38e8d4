"""The picture of the compare page in README.md (docs/images/compare.png): the pages served on a free
loopback port, and the distribution's headless Chromium (as in the browser tests) taking the top of
/compare for a person's facts. Run: `.venv/bin/python docs/compare_screenshot.py`."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from advisor import default_advisor
from advisor.web import create_app

OUT = Path(__file__).resolve().parent / "images" / "compare.png"
URL = "/compare?ms_type=relapsing&severity=severe&prior_failures=2&condition=cancer"
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]


def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(uvicorn.Config(create_app(default_advisor()), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1500})
            page.goto(f"http://127.0.0.1:{port}{URL}")
            page.screenshot(path=str(OUT))
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
