"""The import benchmark's memory figure is each child's own peak, not the benchmark process's.

On Linux a child starts as a copy of the process that starts it, and the kernel keeps that copy's
resident high-water mark across ``exec``: ``ru_maxrss`` from ``os.wait4`` (and the child's own
``getrusage(RUSAGE_SELF)``) can never read below the parent's size. The benchmark ran inside a
34 MiB process, so every row, the bare interpreter included, read 34.4 MiB (first-hour trial,
item 3). These tests make this process large and check the figures still follow the child."""

from __future__ import annotations

from scripts import bench_import

MIB = 1024 * 1024


def test_a_childs_peak_is_its_own_not_the_large_parents() -> None:
    ballast = b"x" * (256 * MIB)  # written, so resident: this process is now > 256 MiB
    env = bench_import.child_env()
    _, bare_mib, _ = bench_import.run_once("pass", env)
    _, allocating_mib, _ = bench_import.run_once("data = b'x' * (96 * 1024 * 1024)", env)
    assert len(ballast) == 256 * MIB
    assert bare_mib < 64, f"a bare interpreter read {bare_mib:.1f} MiB: the parent's memory, not its own"
    # 96 MiB more resident in the second child, measured to within a few MiB.
    assert 88 <= allocating_mib - bare_mib <= 104, (bare_mib, allocating_mib)


def test_own_peak_reads_the_probe_line_after_any_output() -> None:
    assert bench_import.own_peak_kib(b"hello\n12345\n") == 12345
    assert bench_import.own_peak_kib(b"") is None
    assert bench_import.own_peak_kib(b"not a number\n") is None
