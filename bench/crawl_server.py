"""The demo city served from a process of its own, for the crawl benchmark.

    .venv/bin/python bench/crawl_server.py [--seed 2026] [--hosts N]

Prints the base URL on the first line of stdout (with ``--hosts N``: a JSON list of the N sites' base URLs,
one loopback address each — a province, ``DemoServer(hosts=N)``), then serves until stdin closes (or the
process is killed). The benchmark's clients then never share a process, or its GIL, with the server, and the
server's CPU time can be read from ``/proc/<pid>/stat`` on its own.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from democity import DemoServer, build

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--hosts", type=int, default=0, help="serve a province: the site on N loopback addresses")
    args = parser.parse_args()
    with DemoServer(build(args.seed), hosts=args.hosts) as server:
        print(json.dumps(server.base_urls) if args.hosts else server.base_url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
