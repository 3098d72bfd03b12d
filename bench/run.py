"""`make bench`: run every benchmark module in bench/ and write bench-results.json at the repo root.

Each module ``bench/<name>.py`` exposes ``async def run(ctx) -> dict[str, float | int | dict]``;
``ctx`` is a running platform (real processes on free ports, a database of its own). Figures are
ratios and rates measured side by side in one run, never assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def main(only: list[str]) -> None:
    from bench.context import running_platform

    names = [m.name for m in pkgutil.iter_modules([str(ROOT / "bench")]) if m.name not in {"run", "context"} and not m.name.startswith("_")]
    if only:
        names = [n for n in names if n in only]
    results: dict = {"started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": {"cores": __import__("os").cpu_count()}}
    async with running_platform() as ctx:
        for name in names:
            module = importlib.import_module(f"bench.{name}")
            print(f"bench: {name} ...", flush=True)
            started = time.monotonic()
            figures = await module.run(ctx)
            figures[f"{name}_bench_wall_s"] = round(time.monotonic() - started, 1)
            results.update(figures)
            print(json.dumps(figures, indent=2), flush=True)
    (ROOT / "bench-results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {ROOT / 'bench-results.json'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("only", nargs="*", help="benchmark modules to run (default: all)")
    asyncio.run(main(parser.parse_args().only))
