"""Benchmark: the sidecar's ``build_bills`` on synthetic pay runs at payroll scale.

For each size (payslips x pay items) and grouping scenario it prints:

* wall time of ``build_bills`` alone, best of ``--repeat`` runs (the pay run is built before timing),
  and its CPU time (less disturbed than wall time when other work shares the machine);
* time per payslip, to see whether the cost grows linearly;
* peak memory of one build traced by ``tracemalloc`` (Python allocations made by the build), and the
  process RSS: what the pay run itself takes, and the peak RSS reached during the build above that.

Run from the repository root::

    .venv/bin/python bench/bench_build_bills.py            # 1k, 10k, 100k payslips x 30 lines
    .venv/bin/python bench/bench_build_bills.py --quick    # 1k and 10k only
    .venv/bin/python bench/bench_build_bills.py --profile  # cProfile of the largest size, top functions

Target (issue 7): 100k payslips in under 5 s, memory linear in the number of payslips.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import platform
import pstats
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic

from payroll_xero.bills import build_bills

TARGET_SECONDS = 5.0
TARGET_SIZE = 100_000


@dataclass
class Row:
    scenario: str
    payslips: int
    lines: int
    bills: int
    bill_lines: int
    problems: int
    best: float
    runs: list[float]
    cpu: float
    traced_peak: int
    input_rss: int
    build_rss: int

    @property
    def us_per_payslip(self) -> float:
        return self.best / self.payslips * 1e6


def _rss() -> int:
    """Current resident set size in bytes (Linux /proc), 0 when unknown."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak RSS (VmHWM) of this process to its current RSS (Linux only)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_rss() -> int:
    """Peak resident set size (VmHWM) in bytes since the last reset."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f}"


def measure(scenario: str, payslips: int, lines: int, repeat: int) -> Row:
    gc.collect()
    rss_before_input = _rss()
    pay_run = synthetic.pay_run(payslips, lines)
    mapping = synthetic.mapping(scenario)
    gc.collect()
    input_rss = _rss() - rss_before_input

    # Peak RSS of one untraced build above what the process held before it.
    have_hwm = _reset_peak_rss()
    base = _rss()
    result = build_bills(pay_run, mapping)
    build_rss = (_peak_rss() - base) if have_hwm else 0
    n_bills = len(result.bills)
    n_lines = sum(len(b.lines) for b in result.bills)
    n_problems = len(result.problems)
    del result
    gc.collect()

    runs, cpu = [], []
    for _ in range(repeat):
        gc.collect()
        started, cpu_started = time.perf_counter(), time.process_time()
        result = build_bills(pay_run, mapping)
        runs.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        del result

    gc.collect()
    tracemalloc.start()
    result = build_bills(pay_run, mapping)
    _current, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result, pay_run
    gc.collect()
    return Row(
        scenario,
        payslips,
        lines,
        n_bills,
        n_lines,
        n_problems,
        min(runs),
        runs,
        min(cpu),
        traced_peak,
        input_rss,
        build_rss,
    )


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'scenario':<10} {'payslips':>9} {'lines':>5} {'bills':>7} {'bill lines':>10} "
        f"{'best s':>8} {'cpu s':>7} {'us/slip':>8} {'traced MiB':>10} {'KiB/slip':>8} {'input RSS MiB':>13} "
        f"{'build RSS MiB':>13}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.scenario:<10} {r.payslips:>9,} {r.lines:>5} {r.bills:>7,} {r.bill_lines:>10,} "
            f"{r.best:>8.3f} {r.cpu:>7.3f} {r.us_per_payslip:>8.1f} {_mib(r.traced_peak):>10} "
            f"{r.traced_peak / r.payslips / 1024:>8.2f} {_mib(r.input_rss):>13} {_mib(r.build_rss):>13}"
        )


def print_verdict(rows: list[Row]) -> bool:
    ok = True
    print()
    for scenario in dict.fromkeys(r.scenario for r in rows):
        mine = sorted((r for r in rows if r.scenario == scenario), key=lambda r: r.payslips)
        small, large = mine[0], mine[-1]
        if len(mine) > 1:
            t_ratio = large.us_per_payslip / small.us_per_payslip
            m_ratio = (large.traced_peak / large.payslips) / (small.traced_peak / small.payslips)
            linear = t_ratio < 1.5 and m_ratio < 1.5
            print(
                f"{scenario:<10} time/payslip {small.payslips:,} -> {large.payslips:,}: x{t_ratio:.2f}; "
                f"memory/payslip: x{m_ratio:.2f} -> {'linear (or better)' if linear else 'NOT linear'}"
            )
        else:
            print(f"{scenario:<10} one size only: no linearity check")
        target = next((r for r in mine if r.payslips == TARGET_SIZE), None)
        if target is not None:
            met = target.best < TARGET_SECONDS
            ok = ok and met
            print(
                f"{'':<10} {TARGET_SIZE:,} payslips in {target.best:.2f} s: "
                f"target < {TARGET_SECONDS:.0f} s {'MET' if met else 'MISSED'}"
            )
    return ok


def profile(scenario: str, payslips: int, lines: int, top: int) -> None:
    pay_run = synthetic.pay_run(payslips, lines)
    mapping = synthetic.mapping(scenario)
    prof = cProfile.Profile()
    prof.enable()
    build_bills(pay_run, mapping)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    print(f"\ncProfile of build_bills, scenario {scenario}, {payslips:,} payslips x {lines} lines:")
    print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k payslips only")
    parser.add_argument("--sizes", help="comma-separated payslip counts (default 1000,10000,100000)")
    parser.add_argument("--lines", type=int, default=30, help="pay items per payslip (default 30)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per size; the best is kept")
    parser.add_argument(
        "--scenarios",
        default=",".join(synthetic.SCENARIOS),
        help=f"comma-separated, among {', '.join(synthetic.SCENARIOS)}",
    )
    parser.add_argument("--profile", action="store_true", help="also cProfile the largest size")
    args = parser.parse_args(argv)

    if args.sizes:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    else:
        sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]

    print(
        f"build_bills benchmark: python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}; best of {args.repeat}"
    )
    print(f"scenarios: {', '.join(scenarios)}; sizes: {', '.join(f'{s:,}' for s in sizes)} payslips\n")
    rows = []
    for scenario in scenarios:
        for size in sizes:
            row = measure(scenario, size, args.lines, args.repeat)
            rows.append(row)
            print(
                f"  {scenario:<10} {size:>9,} payslips: best {row.best:.3f} s "
                f"(runs {', '.join(f'{t:.3f}' for t in row.runs)})",
                flush=True,
            )
    print()
    print_table(rows)
    ok = print_verdict(rows)
    if args.profile:
        for scenario in scenarios:
            profile(scenario, max(sizes), args.lines, 20)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
