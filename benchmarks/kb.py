"""Loading and checking a large knowledge base: the shipped KB with alemtuzumab's and natalizumab's
rules replaced by 100 generated rules each (207 status rules).

    python benchmarks/kb.py

Prints the time of Advisor(rules_dir=...) (load, every validation, the decision-space proof, engine
compilation), of `kb check` (the same, plus one engine run per distinct set of firing rules), and of
20 advise() calls (memoized decisions: each new class of values is decided once).
"""

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from advisor import Advisor  # noqa: E402
from advisor.kb.checks import check  # noqa: E402
from advisor.kb.load import default_directory  # noqa: E402
from test_kb_hardening import generated_kb  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "rules"
        shutil.copytree(default_directory(), target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
        generated_kb(target)
        t0 = time.perf_counter()
        advisor = Advisor(rules_dir=target)
        t1 = time.perf_counter()
        report = check(target)
        t2 = time.perf_counter()
        for i in range(20):
            advisor.advise({"ms_type": "spms", "severity": "mild", "prior_failures": i, "mitoxantrone_cumulative_mg_m2": i * 1.4})
        t3 = time.perf_counter()
    print(f"{len(advisor.kb.rules)} status rules: Advisor() {t1 - t0:.2f} s; kb check {t2 - t1:.2f} s "
          f"({'ok' if report.ok else 'PROBLEMS'}, {report.combinations:,} combinations); "
          f"20 advise() {t3 - t2:.2f} s (what-ifs try every threshold: one engine run per new class)")


if __name__ == "__main__":
    main()
