"""Benchmark `ms-advisor batch`: cases/s, the ratio to a no-advice floor, and peak memory.

    python benchmarks/batch.py                 # 200,000 cases, default options
    python benchmarks/batch.py -n 1000000      # the memory target
    python benchmarks/batch.py -n 200000 --workers 1
    python benchmarks/batch.py --decoders       # also time the candidate decoders on the same file
    python benchmarks/batch.py --repeat 5       # floor and batch five times in turns: the median pair

It writes N random valid cases (seeded) as JSONL to a temporary folder, runs the installed
`ms-advisor batch` on them in a subprocess, and, in this process, measures the floor: reading,
parsing and writing the same records with no advice at all. Peak RSS is sampled from /proc over the
batch process and its workers (largest single process, and the sum at the busiest moment).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MS_TYPES = ["relapsing", "spms", "ppms", "RRMS", "secondary progressive", "primary-progressive"]


def conditions() -> list[str]:
    """The condition vocabulary, from the facts' JSON Schema (never written out here)."""
    from advisor.core.models import PatientFacts
    schema = PatientFacts.model_json_schema()
    items = schema["properties"]["conditions"]["items"]
    ref = items.get("$ref", "").rsplit("/", 1)[-1]
    return list((schema["$defs"][ref] if ref else items)["enum"])


def generate(path: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    CONDITIONS = conditions()
    with path.open("w") as f:
        for i in range(n):
            case = {"id": f"case-{i}", "ms_type": rng.choice(MS_TYPES), "severity": rng.choice(["mild", "moderate", "severe"]),
                    "prior_failures": rng.randint(0, 4), "rapidly_worsening": rng.random() < 0.3,
                    "mitoxantrone_cumulative_mg_m2": round(rng.choice([0, 0, rng.uniform(0, 200)]), 1),
                    "conditions": rng.sample(CONDITIONS, rng.choice([0, 0, 1, 1, 2, 3]))}
            f.write(json.dumps(case) + "\n")


def floor(src: Path, dst: Path) -> float:
    """Read, parse and write the same records with no advice: the cost no batch run can avoid."""
    start = time.perf_counter()
    with src.open(encoding="utf-8") as fin, dst.open("w", encoding="utf-8") as fout:
        for line in fin:
            case = json.loads(line)
            fout.write(json.dumps({"id": case["id"], "source": "x", "ok": True, "error": None, "facts": case},
                                  separators=(",", ":")) + "\n")
    return time.perf_counter() - start


def decoders(src: Path, n: int) -> None:
    """Cases/s of each way to decode and type the whole file (the batch fast path's first step)."""
    import pydantic
    data = src.read_bytes()
    timings = {}
    start = time.perf_counter()
    for line in data.splitlines():
        json.loads(line)
    timings["json.loads per line (untyped)"] = time.perf_counter() - start
    try:
        from advisor.batch.chunks import Worker
        from advisor.batch.writers import writer_for
        from advisor.core.advisor import Advisor
        advisor = Advisor()
        decoder = Worker(advisor, writer_for("jsonl", advisor.drug_ids)).fast.decoder
        start = time.perf_counter()
        decoder.decode_lines(data)
        timings["msgspec decode_lines, typed struct"] = time.perf_counter() - start
    except ImportError:
        pass
    from advisor.core.models import PatientFacts
    adapter = pydantic.TypeAdapter(list[PatientFacts])
    block = b"[" + b",".join(data.splitlines()) + b"]"
    start = time.perf_counter()
    adapter.validate_json(block)
    timings["pydantic-core validate_json, list[PatientFacts]"] = time.perf_counter() - start
    for what, seconds in timings.items():
        print(f"decoder:          {n / seconds:>12,.0f} cases/s  {what}")


def tree_rss(pid: int) -> tuple[int, int]:
    """(largest, total) RSS in bytes of pid and its descendants."""
    pids, rss = [pid], []
    while pids:
        p = pids.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss.append(int(line.split()[1]) * 1024)
            with open(f"/proc/{p}/task/{p}/children") as f:
                pids += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return (max(rss, default=0), sum(rss))


def run_batch(cmd: list[str]) -> tuple[float, tuple[int, int]]:
    """Wall seconds of one ``ms-advisor batch`` run, and its peak RSS (largest process, all together)."""
    peak = [0, 0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)

    def sample() -> None:
        while proc.poll() is None:
            largest, total = tree_rss(proc.pid)
            peak[0], peak[1] = max(peak[0], largest), max(peak[1], total)
            time.sleep(0.05)
    sampler = threading.Thread(target=sample)
    sampler.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    sampler.join()
    if proc.returncode != 0:
        sys.exit(f"ms-advisor batch failed ({proc.returncode}):\n{err}")
    return elapsed, (peak[0], peak[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=200_000, help="number of cases (default 200,000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, help="passed to ms-advisor batch (default: its own default)")
    ap.add_argument("--format", default="jsonl", choices=["jsonl", "csv", "json"])
    ap.add_argument("--decoders", action="store_true", help="also time the candidate decoders")
    ap.add_argument("--repeat", type=int, default=1, help="floor and batch this many times in turns; the median pair is shown")
    args = ap.parse_args()
    exe = shutil.which("ms-advisor") or str(Path(sys.executable).parent / "ms-advisor")
    with tempfile.TemporaryDirectory() as tmp:
        cases, out, floor_out = Path(tmp) / "cases.jsonl", Path(tmp) / f"out.{args.format}", Path(tmp) / "floor.jsonl"
        generate(cases, args.n, args.seed)
        cmd = [exe, "batch", str(cases), "--out", str(out), "--format", args.format]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        load = os.getloadavg()[0]
        runs = []  # (batch seconds, floor seconds, peak largest, peak total), floor and batch in turns
        for _ in range(args.repeat):
            floor_s = floor(cases, floor_out)
            elapsed, peak = run_batch(cmd)
            runs.append((elapsed, floor_s, *peak))
        records = sum(1 for _ in out.open()) - (1 if args.format == "csv" else 0)
        ratios = sorted(args.n / e / (args.n / f) for e, f, _, _ in runs)
        elapsed, floor_s, largest, total = sorted(runs, key=lambda r: r[1] / r[0])[len(runs) // 2]  # the median pair
        rate, floor_rate = args.n / elapsed, args.n / floor_s
        print(f"cases:            {args.n:,} ({records:,} records written)")
        print(f"command:          ms-advisor batch cases.jsonl --out out.{args.format}" + (f" --workers {args.workers}" if args.workers else "") + f"  (cores: {os.cpu_count()})")
        print(f"machine load:     {load:.2f} before, {os.getloadavg()[0]:.2f} after (1-minute load average; other work skews both figures)")
        print(f"batch:            {elapsed:.2f} s = {rate:,.0f} cases/s (process start-up included)")
        print(f"floor:            {floor_s:.2f} s = {floor_rate:,.0f} records/s (read, parse, write; no advice; one process)")
        print(f"ratio to floor:   {rate / floor_rate:.2f}  (goal: >= 1.5 at 1,000,000 cases, >= 1.0 at 200,000)"
              + (f"; median of {len(runs)} pairs, all: {', '.join(f'{r:.2f}' for r in ratios)}" if len(runs) > 1 else ""))
        print(f"peak RSS:         {max(r[2] for r in runs) / 2**20:.0f} MB largest process, {max(r[3] for r in runs) / 2**20:.0f} MB all processes together (goal: < 300 MB)")
        if args.decoders:
            decoders(cases, args.n)


if __name__ == "__main__":
    main()
