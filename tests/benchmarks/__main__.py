"""`make bench`: run every tests/benchmarks/bench_*.py in turn; each prints its own numbers."""

import subprocess
import sys
from pathlib import Path

scripts = sorted(Path(__file__).parent.glob("bench_*.py"))
failed = []
for script in scripts:
    print(f"\n=== {script.name} ===", flush=True)
    if subprocess.call([sys.executable, str(script)]) != 0:
        failed.append(script.name)
if failed:
    sys.exit(f"benchmarks failed: {', '.join(failed)}")
