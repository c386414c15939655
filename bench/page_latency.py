"""Lookup latency as a person at the page sees it: from Enter to the first ``lookup:partial`` and to
``lookup:done``, measured in Chromium with performance.now() (the page's own performance measures), against a
running node.

Usage: python bench/page_latency.py --url http://127.0.0.1:8000 [--count 300] [--scale 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright
from stats import percentile  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the browser settings shared with the tests

from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

from netlookup.demo import sample_addresses  # noqa: E402

MEASURES = "performance.getEntriesByType('measure').map(m => [m.name, m.duration])"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--scale", type=float, default=1.0, help="Scale of the demo data the node holds.")
    args = parser.parse_args()
    addresses = sample_addresses(args.count + args.warmup, seed=11, scale=args.scale)
    timings: dict[str, list[float]] = {"netlookup:first-partial": [], "netlookup:done": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(args.url + "/")
        page.get_by_text("Live (Socket.IO)").wait_for()
        box = page.get_by_label("Address or CIDR")
        for index, address in enumerate(addresses):
            box.fill(address)
            box.press("Enter")
            page.wait_for_function("performance.getEntriesByName('netlookup:done').length > 0")
            if index >= args.warmup:
                for name, duration in page.evaluate(MEASURES):
                    timings[name].append(duration)
        browser.close()
    for name, values in timings.items():
        print(
            f"{name.split(':')[1]}: n={len(values)} p50_ms={percentile(values, 50):.1f} "
            f"p90_ms={percentile(values, 90):.1f} p99_ms={percentile(values, 99):.1f} "
            f"max_ms={max(values):.1f} mean_ms={statistics.fmean(values):.1f}"
        )


if __name__ == "__main__":
    main()
