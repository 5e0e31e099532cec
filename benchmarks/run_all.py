"""The closing figures of issue 15 in one command: every benchmark N times (3 by default), on SQLite and
PostgreSQL where it has both, and one table of each key figure's min / median / max next to its target.

    .venv/bin/python -m benchmarks.run_all [--runs 3] [--only tally,memory] [--quick] [--log FILE]

Each benchmark runs as its own process, as its docstring shows, with its default sizes (the issue's), or with
``--quick`` smaller ones so that everything finishes in about ten minutes on a 2-core machine: those figures are
labelled QUICK and are not the issue's. The key figures are read from a benchmark's ``RESULT {json}`` lines
(``benchmarks/result.py``) or, for those that print none, from its human printout. "met?" says ``yes`` when the
worst of the runs meets the target, ``median`` when only the median does, ``no`` otherwise, and ``-`` for a
figure printed for information. ``uptime``'s load is printed at the start and at the end: timed figures on a
loaded machine are noisy (ratios against a baseline measured in the same run much less so). Every benchmark's
own printout goes to the log file.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.result import parse as parse_result  # noqa: E402

Measure = tuple[str, str, float]  # back end, figure, value


def backend_of(name: str) -> str:
    return "postgres" if name.startswith("postgres") else name


def number(text: str) -> float:
    return float(text.replace(",", ""))


# ----------------------------------------------------------------------------- parsers of the human printouts

_NUMBER = r"-?\d[\d,]*(?:\.\d+)?"


def parse_registration(out: str) -> list[Measure]:
    """Rows ``<back end> <step> <Jamaat upd/s> <echo upd/s> <ratio> [CPU ms, echo CPU ms, CPU ratio] >= 0.4
    <stmts/upd> <commits/upd>``; the CPU columns are optional (printed by newer versions)."""
    found = []
    for line in out.splitlines():
        match = re.match(r"^(sqlite|postgres(?:ql)?)\s+(registration|vote)\s+(.*)$", line)
        if not match:
            continue
        backend, step, rest = backend_of(match[1]), match[2], re.sub(r">=\s*" + _NUMBER, " ", match[3])
        values = [number(n) for n in re.findall(_NUMBER, rest)]
        if len(values) < 5:
            continue
        found.append((backend, f"{step}: upd/s ratio", values[2]))
        if len(values) >= 8:
            found.append((backend, f"{step}: CPU ratio", values[5]))
        found.append((backend, f"{step}: statements/upd", values[-2]))
        found.append((backend, f"{step}: commits/upd", values[-1]))
    return found


def parse_broadcast(out: str) -> list[Measure]:
    found, backend, part = [], "sqlite", ""
    for line in out.splitlines():
        if match := re.match(r"^database: (\w+)", line):
            backend = backend_of(match[1])
        if line.startswith("(a)"):
            part = "a"
        elif line.startswith("(b)"):
            part = "b"
        if part == "a" and (match := re.search(r"(" + _NUMBER + r")% of the", line)):
            found.append((backend, "limits on: % of 30/s cap", number(match[1])))
            if match := re.search(r"429 answers: (\d+)", line):
                found.append((backend, "limits on: 429 answers", number(match[1])))
        if part == "b" and line.lstrip().startswith("sent") and (match := re.search(r"= (" + _NUMBER + r") msg/s",
                                                                                      line)):
            found.append((backend, "limits lifted: msg/s", number(match[1])))
            if match := re.search(r"sender/baseline = (" + _NUMBER + ")", line):
                found.append((backend, "limits lifted: / bare loop", number(match[1])))
    return found


# ----------------------------------------------------------------------------- the benchmarks and their targets

#: RESULT figure names -> the table's labels.
ORGANISER_WHAT = ("ballot", "event", "change", "cancel", "outcome")  # benchmarks/organiser.py: WHAT
RESULT_LABELS = {
    "tally": {"ratio": "tally / GROUP BY", "full_ratio": "full recount / GROUP BY"},
    "faq_search": {"p95_ms": "search p95 (ms)", "median_ms": "search median (ms)"},
    "memory": {"idle_over_echo_mb": "idle over echo bot (MB)", "load_over_idle_mb": "peak over own idle (MB)",
               "echo_mb": "echo bot idle VmHWM (MB)", "idle_mb": "jamaat run idle VmHWM (MB)"},
    "scale": {"enqueue_s": "enqueue (s)", "drain_per_s": "drain, limits lifted (msg/s)"},
    "organiser": {"help_idle_s": "/help idle (s)",
                  **{f"{what}_answered_s": f"{what}: answered (s)" for what in ORGANISER_WHAT},
                  **{f"{what}_help_max_s": f"{what}: /help meanwhile, max (s)" for what in ORGANISER_WHAT}},
}


@dataclass
class Target:
    op: str  # "<=" or ">="
    value: float
    backends: tuple[str, ...] = ("sqlite", "postgres")

    def meets(self, value: float) -> bool:
        return value <= self.value if self.op == "<=" else value >= self.value

    def worst(self, values: list[float]) -> float:
        return max(values) if self.op == "<=" else min(values)


@dataclass
class Bench:
    name: str
    argv: list[str]  # how to start it (after the interpreter)
    invocations: Callable[[bool], list[list[str]]]  # quick -> the options of each process of one run
    parse: Callable[[str], list[Measure]] | None = None  # for a printout without RESULT lines
    targets: list[tuple[str, Target]] = field(default_factory=list)  # (figure label or its suffix, target)


BENCHMARKS = [
    Bench("registration", ["-m", "benchmarks.registration"],
          lambda quick: [["--backends", "sqlite,postgres"] + (["--villagers", "20"] if quick else [])],
          parse_registration,
          [("upd/s ratio", Target(">=", 0.4)), ("CPU ratio", Target(">=", 0.4))]),
    Bench("broadcast", ["-m", "benchmarks.broadcast"],
          lambda quick: [[*opts, *(["--limited", "300", "--unlimited", "2000"] if quick else [])]
                         for opts in ([], ["--postgres"])],
          parse_broadcast,
          [("limits on: % of 30/s cap", Target(">=", 97)), ("limits on: 429 answers", Target("<=", 0)),
           ("limits lifted: msg/s", Target(">=", 1000, ("postgres",)))]),
    Bench("tally", ["-m", "benchmarks.tally"],
          lambda quick: [["100000" if quick else "1000000", "--backend", "both"]],
          None, [("tally / GROUP BY", Target("<=", 1.5))]),
    Bench("faq_search", [str(ROOT / "benchmarks" / "faq_search.py")],
          lambda quick: [["--backends", "sqlite,postgres"] + (["--entries", "5000", "--queries", "100"] if quick
                                                              else [])],
          None, [("search p95 (ms)", Target("<=", 10, ("sqlite",))),
                 ("search p95 (ms)", Target("<=", 20, ("postgres",)))]),
    Bench("memory", ["-m", "benchmarks.memory"],
          lambda quick: [["--people", "20000", "--drain-seconds", "5"] if quick else []],
          None, [("idle over echo bot (MB)", Target("<=", 40)), ("peak over own idle (MB)", Target("<=", 60))]),
    Bench("organiser", ["-m", "benchmarks.organiser"],
          lambda quick: [["--backends", "sqlite,postgres"] + (["--people", "10000"] if quick else [])],
          None, [("answered (s)", Target("<=", 1))]),
    Bench("scale", ["-m", "benchmarks.scale"],
          lambda quick: [["--backends", "postgres,sqlite"] + (["--people", "20000", "--drain-seconds", "5"] if quick
                                                              else [])],
          None, [("enqueue (s)", Target("<=", 10, ("postgres",)))]),
]


def target_for(bench: Bench, backend: str, figure: str) -> Target | None:
    for label, target in bench.targets:
        if (figure == label or figure.endswith(": " + label)) and backend in target.backends:
            return target
    return None


def measures(bench: Bench, out: str) -> list[Measure]:
    """The key figures of one process's printout: its RESULT lines, else its human printout."""
    found = []
    for line in out.splitlines():
        if (value := parse_result(line)) is not None:
            labels = RESULT_LABELS.get(value["benchmark"], {})
            found += [(backend_of(value["backend"]), labels[name], figure)
                      for name, figure in value["figures"].items() if name in labels]
    if not found and bench.parse is not None:
        found = bench.parse(out)
    return found


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"(uptime: {exc})"


def run(bench: Bench, options: list[str], log, timeout: float) -> tuple[str, str | None]:  # noqa: ANN001
    command = [sys.executable, *bench.argv, *options]
    log.write(f"\n===== {' '.join(command)}\n")
    log.flush()
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        log.write(out + f"\n(timed out after {timeout:g} s)\n")
        return out, f"timed out after {timeout:g} s"
    log.write(done.stdout + (f"\n--- stderr\n{done.stderr[-5000:]}" if done.returncode else ""))
    log.flush()
    error = None if done.returncode == 0 else f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"
    return done.stdout, error


def cell(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def table(results: dict[tuple[str, str, str], list[float]], runs: int) -> list[str]:
    by_name = {bench.name: bench for bench in BENCHMARKS}
    rows = [("benchmark", "back end", "figure", "runs", "min", "median", "max", "target", "met?")]
    for (name, backend, figure), values in results.items():
        target = target_for(by_name[name], backend, figure)
        if target is None:
            met, wanted = "-", "-"
        else:
            wanted = f"{target.op} {target.value:g}"
            met = ("yes" if target.meets(target.worst(values)) else
                   "median" if target.meets(statistics.median(values)) else "no")
        rows.append((name, backend, figure, f"{len(values)}/{runs}", cell(min(values)),
                     cell(statistics.median(values)), cell(max(values)), wanted, met))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = {3, 4, 5, 6}
    return ["  ".join(text.rjust(widths[i]) if i in right else text.ljust(widths[i]) for i, text in enumerate(row))
            for row in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated: " + ",".join(b.name for b in BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="smaller sizes (~10 minutes): not the issue's figures")
    parser.add_argument("--log", type=Path, default=None, help="where the benchmarks' own printouts go")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per benchmark process "
                        "(default 3600, 900 with --quick)")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - {bench.name for bench in BENCHMARKS}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    benches = [bench for bench in BENCHMARKS if not chosen or bench.name in chosen]
    timeout = args.timeout or (900.0 if args.quick else 3600.0)
    log_path = args.log or Path(tempfile.mkstemp(prefix="jamaat-benchmarks-", suffix=".log")[1])
    label = "QUICK sizes (smaller than the issue's: not the closing figures)" if args.quick else "full sizes"
    print(f"run_all: {', '.join(b.name for b in benches)}; {args.runs} run(s) each; {label}")
    print(f"load at start: {uptime()}", flush=True)
    results: dict[tuple[str, str, str], list[float]] = {}
    failures: list[str] = []
    started = time.monotonic()
    with log_path.open("w") as log:
        for bench in benches:
            for attempt in range(1, args.runs + 1):
                for options in bench.invocations(args.quick):
                    began = time.monotonic()
                    out, error = run(bench, options, log, timeout)
                    found = measures(bench, out)
                    for backend, figure, value in found:
                        results.setdefault((bench.name, backend, figure), []).append(value)
                    what = f"{bench.name} {' '.join(options)}".strip()
                    if error or not found:
                        failures.append(f"{what} (run {attempt}): {error or 'no figures found in its printout'}")
                    print(f"  [{what}: run {attempt}/{args.runs}] {time.monotonic() - began:.0f} s, "
                          f"{len(found)} figures{'; ' + error if error else ''}", flush=True)
    print(f"\nload at end: {uptime()}  (all benchmarks: {(time.monotonic() - started) / 60:.1f} min)")
    print(f"min / median / max over runs; {label}")
    print("\n".join(table(results, args.runs)))
    for failure in failures:
        print(f"FAILED: {failure}")
    print(f"the benchmarks' own printouts: {log_path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
