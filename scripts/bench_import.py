"""Measure what importing the client costs, against ``import httpx`` (``make bench-import``).

    python -m scripts.bench_import [--runs N] [--strict] [--no-all-models] [--with-cli]

Each case runs N times (default 21) in a fresh interpreter (this one: the project venv), after one
untimed run that writes the ``.pyc`` caches. The runs of the cases are interleaved, each round
starting one case later, so that a busy machine slows them all alike. Per run we take the wall
time of the whole child process (interpreter start included), its CPU time (user + system of
exactly that child, from ``os.wait4``) and its peak resident memory: the child's own ``VmHWM``,
which it prints as it ends. Not ``ru_maxrss``: on Linux a child begins as a copy of the process
that starts it and keeps that copy's high-water mark across ``exec``, so ``os.wait4`` (or the
child's own ``getrusage``) gave every row at least this benchmark's own 34 MiB. The Markdown
report gives the medians, the ratio to the httpx baseline (for CPU, the median of the ratios
within each round, with the middle half of them as the spread) and the targets of issue 2: our
import within 2x the time of ``import httpx``, and under 60 MiB; and of issue 15:
``from carecloud_async import CareCloud`` plus one endpoint within 1.5x the CPU time of
``import httpx``.

httpx's ``__init__`` imports its own command line (``httpx._main``: click, rich, pygments, about
45 ms) whenever those packages are installed, as they are in our dev environment (uvicorn brings
click). A user without them gets a much cheaper ``import httpx``, so a baseline with them would
flatter us. Every case therefore runs with that optional import blocked the same way: the child
first runs ``import sys; sys.modules['click'] = None``, so httpx's
``try: from ._main import main / except ImportError`` takes the cheap path. ``--with-cli`` adds
two contrast rows (baseline and client) with the CLI packages allowed.

A bare openapi-python-client package took 11.3 s and 153 MiB here (its ``models/__init__.py``
imports every model); the contrast row imports all our models to show what laziness saves.

The exit status is 0 whatever the numbers (this is a report) unless ``--strict`` is given, then
1 when a target fails. A child that fails to import is an error (exit 2) in any case.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIME_RATIO_TARGET = 2.0  # our import may take at most this many times `import httpx`
CPU_RATIO_TARGET = 1.5  # issue 15: the client and one endpoint, in CPU time, against `import httpx`
MEMORY_TARGET_MIB = 60.0
# Prefixed to every measured child: httpx's optional command line (click, rich, pygments) is
# skipped as it is for a user who lacks those packages (see the module docstring).
BLOCK_HTTPX_CLI = "import sys; sys.modules['click'] = None; "
MODEL_COUNT = "sum(1 for n in sys.modules if n.startswith('carecloud_api.models.'))"


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    code: str
    httpx_cli: bool = False  # True: httpx may import its command line (contrast rows only)

    @property
    def child_code(self) -> str:
        """What the child runs: ``code``, after blocking httpx's optional CLI unless ``httpx_cli``."""
        return self.code if self.httpx_cli else BLOCK_HTTPX_CLI + self.code


STARTUP = Case("startup", "bare interpreter (`pass`), for reference", "pass")
BASELINE = Case("httpx", "`import httpx` (baseline)", "import httpx")
OURS = Case(
    "ours",
    "`import carecloud_async; from carecloud_api.api.customers import get_customers`",
    "import carecloud_async; from carecloud_api.api.customers import get_customers",
)
CLIENT = Case(
    "client",
    "`from carecloud_async import CareCloud; from carecloud_api.api.customers import get_customers` (the client too)",
    "from carecloud_async import CareCloud; from carecloud_api.api.customers import get_customers",
)
TREE = Case(
    "tree",
    "the client, and `cc.customers` of the resource tree loaded (issue 24: groups load on first use)",
    "from carecloud_async import CareCloud; import carecloud_async._resources.customers",
)
GENERATED_ONLY = Case(
    "generated",
    "`from carecloud_api.api.customers import get_customers` (generated code alone)",
    "from carecloud_api.api.customers import get_customers",
)
ALL_MODELS = Case(
    "all-models",
    "every model: `[getattr(m, n) for n in m.__all__]` (contrast)",
    "import carecloud_api.models as m; [getattr(m, n) for n in m.__all__]",
)
BASELINE_WITH_CLI = Case(
    "httpx-cli", "`import httpx`, httpx CLI packages allowed (contrast)", BASELINE.code, httpx_cli=True
)
CLIENT_WITH_CLI = Case(
    "client-cli", "the client and one endpoint, httpx CLI packages allowed (contrast)", CLIENT.code, httpx_cli=True
)


@dataclass
class Samples:
    wall_ms: list[float] = field(default_factory=list)
    peak_mib: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)

    @property
    def median_cpu_ms(self) -> float:
        return statistics.median(self.cpu_ms)

    def cpu_ratios(self, base: Samples) -> list[float]:
        """This case's CPU time over the baseline's, round by round (both ran in the same round)."""
        return [ours / theirs for ours, theirs in zip(self.cpu_ms, base.cpu_ms, strict=True)]

    def cpu_ratio(self, base: Samples) -> float:
        """The median of the paired ratios: a slow spell of the machine slows both sides of a pair."""
        return statistics.median(self.cpu_ratios(base))

    @property
    def median_ms(self) -> float:
        return statistics.median(self.wall_ms)

    @property
    def median_mib(self) -> float:
        return statistics.median(self.peak_mib)


class ChildFailed(Exception):
    """A measured child exited non-zero (its import is broken)."""


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    # The caches must be written by the warm-up run, or every run would compile from source.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # Nothing that changes what an import costs.
    for name in ("PYTHONPROFILEIMPORTTIME", "PYTHONTRACEMALLOC", "PYTHONDEVMODE", "PYTHONSTARTUP"):
        env.pop(name, None)
    return env


def maxrss_mib(ru_maxrss: int) -> float:
    """``ru_maxrss`` is in KiB on Linux and the BSDs, in bytes on macOS."""
    return ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru_maxrss / 1024


# Run by every measured child after its case: prints the child's own peak RSS (``VmHWM``, KiB) where
# /proc exists. Neither ``ru_maxrss`` from ``os.wait4`` nor the child's ``getrusage(RUSAGE_SELF)``
# will do on Linux: the child starts as a copy of this (much larger) benchmark process, and the
# kernel keeps the high-water mark of that copy across ``exec``, so every row read at least this
# process's own size. ``VmHWM`` belongs to the address space ``exec`` made: the child's alone.
PEAK_PROBE = (
    "\nimport os as _o\n"
    "if _o.path.exists('/proc/self/status'):\n"
    "    print(*[_l.split()[1] for _l in open('/proc/self/status') if _l.startswith('VmHWM:')])"
)


def own_peak_kib(stdout: bytes) -> int | None:
    """The ``VmHWM`` (KiB) a child printed with ``PEAK_PROBE``, or None where it could not."""
    last = stdout.strip().rsplit(b"\n", 1)[-1]
    return int(last) if last.isdigit() else None


def run_once(code: str, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall milliseconds, peak MiB and CPU milliseconds (user + system) of one fresh ``python -c code``.

    CPU time is what a shared machine disturbs least: waiting for a core is wall time, not CPU.
    The peak is the child's own ``VmHWM`` (see ``PEAK_PROBE``); only without /proc (macOS) does it
    fall back to ``ru_maxrss`` from ``os.wait4``."""
    if not hasattr(os, "wait4"):
        raise SystemExit("bench_import needs os.wait4 (a POSIX system) to read a child's CPU time")
    with tempfile.TemporaryFile() as errors, tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", code + PEAK_PROBE],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=errors,
            env=env,
            cwd=ROOT,
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall_ms = (time.perf_counter() - start) * 1000
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        if child.returncode != 0:
            errors.seek(0)
            raise ChildFailed(f"`python -c {code!r}` failed:\n{errors.read().decode(errors='replace')}")
        output.seek(0)
        own_kib = own_peak_kib(output.read())
    peak_mib = own_kib / 1024 if own_kib is not None else maxrss_mib(usage.ru_maxrss)
    return wall_ms, peak_mib, (usage.ru_utime + usage.ru_stime) * 1000


def loaded_models(env: dict[str, str]) -> tuple[int, int]:
    """(model modules loaded by our import, model modules in the package)."""
    code = f"{OURS.child_code}; import carecloud_api.models as m; print({MODEL_COUNT}, len(m.__all__))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    loaded, total = result.stdout.split()
    return int(loaded), int(total)


def measure(cases: list[Case], runs: int, env: dict[str, str]) -> dict[str, Samples]:
    for case in cases:  # warm-up: writes the .pyc caches, not timed
        run_once(case.child_code, env)
    samples = {case.key: Samples() for case in cases}
    for round_ in range(runs):
        # Each round starts one case later, so no case always follows the same (say, the slow) one.
        shift = round_ % len(cases)
        for case in cases[shift:] + cases[:shift]:
            wall_ms, peak_mib, cpu_ms = run_once(case.child_code, env)
            samples[case.key].wall_ms.append(wall_ms)
            samples[case.key].peak_mib.append(peak_mib)
            samples[case.key].cpu_ms.append(cpu_ms)
    return samples


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(cases: list[Case], samples: dict[str, Samples], runs: int, models: tuple[int, int]) -> tuple[str, bool]:
    base = samples[BASELINE.key]
    startup = samples[STARTUP.key]
    ours = samples[OURS.key]
    lines = [
        f"## Import cost ({runs} runs per case, medians; Python {sys.version.split()[0]}, {sys.platform}, "
        f"{os.cpu_count()} cores)",
        "",
        "Every row runs with httpx's optional command line blocked (`sys.modules['click'] = None` first: "
        "no click, rich, pygments), as for a user without those packages, unless the row says otherwise.",
        "",
        "| case | wall ms | min-max ms | over bare python ms | peak MiB | time vs httpx | CPU ms "
        "| CPU vs httpx, paired |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in cases:
        s = samples[case.key]
        lines.append(
            f"| {case.label} | {s.median_ms:.0f} | {min(s.wall_ms):.0f}-{max(s.wall_ms):.0f} "
            f"| {s.median_ms - startup.median_ms:.0f} | {s.median_mib:.1f} | {s.median_ms / base.median_ms:.2f}x "
            f"| {s.median_cpu_ms:.0f} | {s.cpu_ratio(base):.2f}x |"
        )
    client = samples[CLIENT.key]
    cpu_ratio = client.cpu_ratio(base)
    quartiles = statistics.quantiles(client.cpu_ratios(base), n=4) if runs > 1 else [cpu_ratio] * 3
    cpu_ok = cpu_ratio <= CPU_RATIO_TARGET
    ratio = ours.median_ms / base.median_ms
    time_ok = ratio <= TIME_RATIO_TARGET
    memory_ok = ours.median_mib < MEMORY_TARGET_MIB
    lines += [
        "",
        "| target (ours) | measured | result |",
        "|---|---|---|",
        f"| wall time within {TIME_RATIO_TARGET:g}x of `import httpx` "
        f"| {ratio:.2f}x ({ours.median_ms:.0f} ms vs {base.median_ms:.0f} ms) | {verdict(time_ok)} |",
        f"| peak memory under {MEMORY_TARGET_MIB:g} MiB | {ours.median_mib:.1f} MiB "
        f"({ours.median_mib - base.median_mib:+.1f} MiB over httpx) | {verdict(memory_ok)} |",
        f"| CPU of the client and one endpoint within {CPU_RATIO_TARGET:g}x of `import httpx` (issue 15) "
        f"| {cpu_ratio:.2f}x (middle half of the rounds {quartiles[0]:.2f}-{quartiles[2]:.2f}x; "
        f"{client.median_cpu_ms:.0f} ms vs {base.median_cpu_ms:.0f} ms) | {verdict(cpu_ok)} |",
        "",
        f"Model modules loaded by our import: {models[0]} of {models[1]}.",
    ]
    return "\n".join(lines), time_ok and memory_ok and cpu_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21, help="timed runs per case (default 21)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    parser.add_argument("--no-all-models", action="store_true", help="skip the all-models contrast case")
    parser.add_argument("--with-cli", action="store_true", help="add contrast rows with httpx's CLI packages allowed")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    cases = [STARTUP, BASELINE, OURS, CLIENT, TREE, GENERATED_ONLY] + ([] if args.no_all_models else [ALL_MODELS])
    if args.with_cli:
        cases += [BASELINE_WITH_CLI, CLIENT_WITH_CLI]
    env = child_env()
    try:
        samples = measure(cases, args.runs, env)
        models = loaded_models(env)
    except ChildFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text, ok = report(cases, samples, args.runs, models)
    print(text)
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    from scripts.bench_common import recording

    with recording("import"):
        sys.exit(main())
