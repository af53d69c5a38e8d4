"""Cold start of the command line: whole-command wall time of a fresh `ms-advisor` process, and what
`advise` imports.

    python benchmarks/cold_start.py [RUNS]

Runs each command RUNS times (default 20, after one warm-up run that fills the OS file cache) as
a new process with stdout to a pipe, and prints the minimum and the median wall time; then the
modules `advise` imports (from ``python -X importtime``: count and cumulative time of the biggest
top-level imports). The machine's load average is printed first: on a shared machine compare the
minimums, which load disturbs least.
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import time

EXE = shutil.which("ms-advisor", path=os.path.dirname(sys.executable)) or "ms-advisor"
ADVISE = ["advise", "--ms-type", "relapsing", "--severity", "severe", "--prior-failures", "2"]
COMMANDS = {
    "advise": ADVISE,
    "advise --format table": [*ADVISE, "--format", "table"],
    "--help": ["--help"],
    "drugs": ["drugs"],
}


def timed(args: list[str], runs: int) -> list[float]:
    subprocess.run([EXE, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([EXE, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return times


def import_profile(args: list[str]) -> tuple[int, list[tuple[int, str]]]:
    """(modules imported, [(cumulative µs, module)] of the top-level imports) of one run of ``args``."""
    code = "import sys; from advisor.cli import main; sys.argv = ['ms-advisor', *sys.argv[1:]]; main()"
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", code, *args], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, check=False).stderr
    rows = [m for m in (re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line) for line in err.splitlines()) if m]
    top = sorted(((int(m[2]), m[4]) for m in rows if len(m[3]) == 1), reverse=True)
    return len(rows), top


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores); {runs} runs each")
    for name, args in COMMANDS.items():
        t = timed(args, runs)
        print(f"ms-advisor {name}: min {min(t) * 1000:.0f} ms, median {statistics.median(t) * 1000:.0f} ms")
    count, top = import_profile(ADVISE)
    print(f"advise imports {count} modules; biggest top-level imports (cumulative):")
    for us, module in top[:12]:
        print(f"  {us / 1000:6.1f} ms  {module}")


if __name__ == "__main__":
    main()
