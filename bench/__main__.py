"""``python -m bench [name ...]``: run every benchmark module in ``bench/`` (or those whose name contains a word given).

A benchmark module is any ``bench/<app>_<what>.py`` that defines
``run() -> list[Figure]``; see ``bench/README.md``.  Figures are printed and
written to ``var/bench/results.json``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
import traceback
from pathlib import Path

import bench

# Benchmark modules whose name has no "_" (the rule for the rest), discovered all the same.
NAMED = {"differencing"}


def discover(words: list[str]) -> list[str]:
    names = sorted(
        info.name
        for info in pkgutil.iter_modules([str(Path(bench.__file__).parent)])
        if not info.name.startswith("_") and ("_" in info.name or info.name in NAMED)
    )
    return [n for n in names if not words or any(w in n for w in words)]


def main(argv: list[str]) -> int:
    names = discover(argv)
    if not names:
        print(f"no benchmark matches {argv}", file=sys.stderr)
        return 2
    results, failed = {}, False
    try:
        for name in names:
            module = importlib.import_module(f"bench.{name}")
            run = getattr(module, "run", None)
            if not callable(run):
                continue
            print(f"== {name}", flush=True)
            started = time.monotonic()
            try:
                figures = run()
            except Exception:
                traceback.print_exc()
                failed = True
                continue
            for figure in figures:
                print("\n".join(figure.lines()), flush=True)
                failed |= figure.met is False
            results[name] = {"seconds": round(time.monotonic() - started, 1), "figures": [f.as_dict() for f in figures]}
    finally:
        bench.teardown_database()
    out = Path(__file__).resolve().parent.parent / "var" / "bench" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"results written to {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
