"""Cold start of the command line: whole-command wall time of a fresh `ms-advisor` process, and what
`advise` imports.

    python benchmarks/cold_start.py [RUNS]

Runs each command RUNS times (default 20, after one warm-up run that fills the OS file cache and the
advisor's store of parsed and proven knowledge bases) as a new process with stdout to a pipe, and
prints the minimum and the median wall time. Then the floor under them: a process that only imports
what every command needs (click, pydantic with one model, durable-rules), with the collector set as
`ms-advisor` sets it. Last, what `advise` imports (from ``python -X importtime``): the count, the
import time of all modules and of the advisor's own (each module's own time, summed), and the
biggest top-level imports. The machine's load average is printed first: on a shared machine compare
the minimums, which load disturbs least.
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


FLOOR = ("import atexit, gc; gc.set_threshold(100_000, 10, 10); atexit.register(gc.freeze)\n"
         "import click, pydantic, durable.lang\n"
         "class M(pydantic.BaseModel):\n    x: int\n"
         "M(x=1).model_dump_json()\n")


def timed(command: list[str], runs: int) -> list[float]:
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return times


def import_profile(args: list[str]) -> tuple[int, float, float, list[tuple[int, str]]]:
    """(modules imported, ms of all imports, ms of the advisor's own, [(cumulative µs, module)] of the
    top-level imports) of one run of ``args``, in a process named as the command's is."""
    code = "import sys; sys.argv = ['ms-advisor', *sys.argv[1:]]; from advisor.cli import main; main()"
    err = subprocess.run([sys.executable, "-P", "-X", "importtime", "-c", code, *args], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, check=False).stderr
    rows = [m for m in (re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line) for line in err.splitlines()) if m]
    top = sorted(((int(m[2]), m[4]) for m in rows if len(m[3]) == 1), reverse=True)
    own = sum(int(m[1]) for m in rows if m[4].split(".")[0] == "advisor") / 1000
    return len(rows), sum(int(m[1]) for m in rows) / 1000, own, top


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores); {runs} runs each")
    for name, args in COMMANDS.items():
        t = timed([EXE, *args], runs)
        print(f"ms-advisor {name}: min {min(t) * 1000:.0f} ms, median {statistics.median(t) * 1000:.0f} ms")
    t = timed([sys.executable, "-P", "-c", FLOOR], runs)
    print(f"floor (python, click, pydantic's first model, durable-rules): min {min(t) * 1000:.0f} ms, "
          f"median {statistics.median(t) * 1000:.0f} ms")
    count, total, own, top = import_profile(ADVISE)
    print(f"advise imports {count} modules in {total:.1f} ms, the advisor's own {own:.1f} ms; biggest top-level imports (cumulative):")
    for us, module in top[:12]:
        print(f"  {us / 1000:6.1f} ms  {module}")


if __name__ == "__main__":
    main()
