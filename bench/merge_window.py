"""Lookup latency around a merge of the index, on one node, several times over.

One ``netlookup serve`` node on a fresh MariaDB database (no Redis, no nginx), every source of the demo dataset
at ``--scale`` imported through the API one by one; then ``--reps`` times: single lookups back to back on one
connection (wrk) for 3 s ("quiet"), a changed sg source imported, the same lookups from its answer until the
merge starts ("two segments": the refreshed source in a segment of its own) and until the merge ends
("merging"). ``/readyz`` is polled every 20 ms in every window (its cost is in all three alike). Faster than
``bench/steady.py`` and with repetitions, for comparing merge pacing in turns.

Usage: python bench/merge_window.py [--scale 5] [--reps 3] [--mariadb mysql+asyncmy://root:@127.0.0.1:3306]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from scale import fresh_database
from steady import (
    ROOT,
    changed,
    demo_sources,
    import_source,
    lookup_addresses,
    merge_window,
    wait_ready,
)
from tests.processes import Node

from netlookup.categories import CATEGORIES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=5)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--mariadb", default=os.environ.get("NETLOOKUP_TEST_MARIADB_URL", "mysql+asyncmy://root:@127.0.0.1:3306")
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="netlookup-merge-window-"))
    data = demo_sources(args.scale)
    (workdir / "addresses.txt").write_text("\n".join(lookup_addresses(data, args.scale, 5000)))
    url = fresh_database(args.mariadb, f"netlookup_merge_{str(args.scale).replace('.', '_')}")
    env = {**os.environ, "NETLOOKUP_DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "netlookup", "db", "upgrade"], env=env, check=True, cwd=ROOT)
    node = Node("node", url, workdir, NETLOOKUP_ACCESS_LOG="false").start()
    try:
        wait_ready([node])
        with httpx.Client(timeout=600) as client:
            for category in CATEGORIES:
                for source, records in data[category].items():
                    import_source(client, node.url, category, source, records)
        time.sleep(15)  # the imports' merges done
        print("| rep | quiet p50 / p99 (ms) | two segments p50 / p99 | merging p50 / p99 (lookups, s) |")
        print("|---|---|---|---|")
        for rep in range(args.reps):
            source = sorted(data["sg"])[rep % len(data["sg"])]
            found = merge_window(node.url, workdir, source, changed(data["sg"][source], random.Random(rep)))
            quiet, waiting, merging = found["quiet"], found["two segments"], found["merging"]
            print(
                f"| {rep + 1} | {quiet['p50']:.2f} / {quiet['p99']:.2f} | {waiting['p50']:.2f} / {waiting['p99']:.2f} "
                f"| {merging['p50']:.2f} / {merging['p99']:.2f} ({merging['count']}, {merging['s']:.1f} s) |",
                flush=True,
            )
            time.sleep(3)
    finally:
        node.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
