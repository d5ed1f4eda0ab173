#!/usr/bin/env python3
"""Benchmark: `klp assess --format prometheus` against `--format json` of the
same root (same process, same report; only the renderer differs).

    bench.py --klp BIN --root ROOT [--env-json FILE] [--runs 50]

Runs the two alternately (machine load hits both alike), checks each run's
exit status is the same in both formats, and prints wall-clock medians and
minimums in milliseconds and the ratio. --env-json names a mkroot.py JSON
(its "env" is merged into klp's environment, as for every rpm root).
"""

import argparse
import json
import os
import statistics
import subprocess
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--klp", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--env-json")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    env = dict(os.environ)
    if args.env_json:
        with open(args.env_json) as f:
            env.update(json.load(f)["env"])
    times = {"json": [], "prometheus": []}
    codes = set()
    for _ in range(args.runs):
        for fmt in times:
            start = time.perf_counter()
            proc = subprocess.run([args.klp, "--root", args.root, "assess", "--format", fmt], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[fmt].append((time.perf_counter() - start) * 1000)
            codes.add((fmt, proc.returncode))
    exit_codes = {code for _, code in codes}
    assert len(exit_codes) == 1, f"the two formats disagree on the verdict: {codes}"
    med = {fmt: statistics.median(t) for fmt, t in times.items()}
    low = {fmt: min(t) for fmt, t in times.items()}
    print(f"root {args.root}, {args.runs} runs each, exit status {exit_codes.pop()}")
    for fmt in times:
        print(f"  --format {fmt:10} median {med[fmt]:7.2f} ms  min {low[fmt]:7.2f} ms")
    print(f"  ratio prometheus/json: median {med['prometheus'] / med['json']:.3f}, "
          f"min {low['prometheus'] / low['json']:.3f}")


if __name__ == "__main__":
    main()
