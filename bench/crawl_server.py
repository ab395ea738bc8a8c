"""The demo city served from a process of its own, for the crawl benchmark.

    .venv/bin/python bench/crawl_server.py [--seed 2026]

Prints the base URL on the first line of stdout, then serves until stdin closes (or the process is
killed). The benchmark's clients then never share a process, or its GIL, with the server, and the
server's CPU time can be read from ``/proc/<pid>/stat`` on its own.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from democity import DemoServer, build

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    with DemoServer(build(args.seed)) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
