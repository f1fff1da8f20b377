"""What the benchmarks share (not a benchmark itself): their Enterprise client, the in-process
mock CareCloud they call, the example page of customers they parse, and ``recording()``, which
keeps what a benchmark printed as machine-readable results for the docs site's figures page.

The mock transports and local stand-in servers accept any login, so the client's credentials
are throwaway; what differs between benchmarks (the server, ``transport=``, ``retry=``,
``cache=``, ``rate_limit=``) is passed through.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

import httpx

from carecloud_async import CareCloud, EnterpriseCareCloud
from scripts import figures_page, normalise, spec_source
from scripts.spec_bodies import example_body

HOST = "bench.example.com"
PREFIX = "/webservice/rest-api/enterprise-interface/v1.0"
BASE_URL = f"https://{HOST}{PREFIX}"
ROOT = Path(__file__).resolve().parents[1]


def bench_client(project_url: str, **options: Any) -> EnterpriseCareCloud:
    """``CareCloud.enterprise(project_url, **options)`` logged in as the benchmarks' "bench" user."""
    return CareCloud.enterprise(
        project_url,
        user_external_application_id="bench",
        login="bench",
        password="bench",  # noqa: S106 (mock transports and local servers accept anything)
        **options,
    )


def pinned_spec() -> dict[str, Any]:
    """The pinned spec, normalised as the generator reads it (the examples the pages are made of)."""
    spec: dict[str, Any] = normalise.normalise(normalise.load(spec_source.obtain()))
    return spec


def customers_page(count: int, spec: dict[str, Any] | None = None) -> bytes:
    """A ``GET /customers`` answer of ``count`` customers, each the spec's example with its own id."""
    spec = pinned_spec() if spec is None else spec
    customer = example_body(spec, spec["components"]["schemas"]["Customer"])
    customers = [{**json.loads(json.dumps(customer)), "customer_id": f"{number:026x}"} for number in range(count)]
    return json.dumps({"data": {"customers": customers, "total_items": count}}).encode()


def mock_transport(bodies: Mapping[str, bytes]) -> httpx.MockTransport:
    """CareCloud in process: any login succeeds, and ``GET {PREFIX}{path}`` answers ``bodies[path]``."""
    login = json.dumps({"data": {"bearer_token": "bench", "valid_to": "2099-01-01 00:00:00"}}).encode()
    headers = {"Content-Type": "application/json"}

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(PREFIX)
        if path == "/users/actions/login":
            return httpx.Response(200, content=login, headers=headers)
        return httpx.Response(200, content=bodies[path], headers=headers)

    return httpx.MockTransport(handle)


# --------------------------------------------------------------------------- results

RESULTS_ENV = "BENCH_RESULTS"
"""A directory: when set, ``recording(name)`` writes ``<directory>/<name>.json`` (``make figures``
sets it to ``docs/figures``). Unset, a benchmark only prints, so running one leaves the tree alone."""


class _Tee(io.TextIOBase):
    """Writes go to the real stdout and are kept."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.kept = io.StringIO()

    def write(self, text: str) -> int:
        self.kept.write(text)
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()


def machine() -> dict[str, Any]:
    """The machine a run measured: CPU model, cores, load average, Python, platform."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
    }


def _commit(root: Path = ROOT, results: Path | None = None, *outputs: Path) -> str:
    """The commit the measured code is, short; ``+dirty`` after it when the work tree differs from
    it (a changed, deleted or new file outside ``results``, the folder the figures go to, which
    the benchmarks of one run fill in turn, and the other ``outputs`` of such a run, the page
    rendered from them): such figures measured code no commit holds."""
    exclude = [
        f":(exclude){path.resolve().relative_to(root.resolve()).as_posix()}"
        for path in (results, *outputs)
        if path is not None and path.resolve().is_relative_to(root.resolve())
    ]
    try:
        head = _git(root, "rev-parse", "--short", "HEAD")
        changes = _git(root, "status", "--porcelain", "--", ".", *exclude)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty" if changes else head


def _git(root: Path, *arguments: str) -> str:
    return subprocess.run(["git", *arguments], capture_output=True, text=True, check=True, cwd=root).stdout.strip()


def parse_output(text: str) -> list[dict[str, Any]]:
    r"""What a benchmark printed, as blocks: ``{"text": line}`` for a line of prose and
    ``{"header": [...], "align": [...], "rows": [[...], ...]}`` for a Markdown table (a run of
    ``|`` lines whose second line is the separator). ``|`` lines without a separator (progress
    rows printed while a benchmark runs) are left out: the whole table follows them.

    >>> parse_output("Walking\n| a | b |\n|---|---:|\n| x | 1 |\n\nPASS\n")
    [{'text': 'Walking'}, {'header': ['a', 'b'], 'align': ['---', '---:'], 'rows': [['x', '1']]}, {'text': 'PASS'}]
    """
    blocks: list[dict[str, Any]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if not line.startswith("|"):
            if line:
                blocks.append({"text": line.lstrip("# ").strip()})
            index += 1
            continue
        end = index
        while end < len(lines) and lines[end].strip().startswith("|"):
            end += 1
        group = [[cell.strip() for cell in row.strip().strip("|").split("|")] for row in lines[index:end]]
        if len(group) >= 2 and all(set(cell) <= set("-: ") and cell for cell in group[1]):
            blocks.append({"header": group[0], "align": group[1], "rows": group[2:]})
        index = end
    return blocks


@contextlib.contextmanager
def recording(name: str) -> Iterator[None]:
    """Record what the block prints: with ``$BENCH_RESULTS`` set, a run that ends well writes
    ``$BENCH_RESULTS/<name>.json`` with the command, the machine, the date, the commit and the
    printed tables and lines (``parse_output``). Wrap a benchmark's ``main()`` in it::

        if __name__ == "__main__":
            with recording("pagination"):
                sys.exit(main())
    """
    folder = os.environ.get(RESULTS_ENV)
    if not folder:
        yield
        return
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    tee = _Tee(sys.stdout)
    ok = False
    try:
        with contextlib.redirect_stdout(tee):
            yield
        ok = True
    except SystemExit as exc:
        ok = exc.code in (None, 0)
        raise
    finally:
        if ok:
            ended = datetime.datetime.now(datetime.timezone.utc)
            result = {
                "bench": name,
                "command": " ".join(["python", "-m", f"scripts.bench_{name}", *sys.argv[1:]]),
                "started": started.strftime("%Y-%m-%d %H:%M UTC"),
                "seconds": round((ended - started).total_seconds()),
                "commit": _commit(ROOT, Path(folder).resolve(), figures_page.PAGE),
                "machine": machine(),
                "load_average": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
                "output": parse_output(tee.kept.getvalue()),
            }
            path = Path(folder) / f"{name}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
