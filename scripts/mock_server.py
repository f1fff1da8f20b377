"""Prism, the spec-driven stand-in for a real CareCloud project (contract tests, ``make mock``).

    python -m scripts.mock_server [--port N]    # serves until Ctrl-C, prints CARECLOUD_* lines last
    make mock [PORT=N]                          # the same

    with running() as prism:                     # tests/conftest.py wraps this in a fixture
        prism.enterprise_url   # http://127.0.0.1:PORT/webservice/rest-api/enterprise-interface/v1.0
        prism.customer_url     # http://127.0.0.1:PORT/webservice/rest-api/customer-interface/v1.0

Prism (``@stoplight/prism-cli``, pinned by package.json + package-lock.json, installed by
``make install-mock``) runs as ``node_modules/.bin/prism mock`` on 127.0.0.1 and a free port, in
its own process group; it is stopped with SIGTERM to the group, then SIGKILL.

Version: prism-cli 5.14.2 with prism-core 5.8.0, prism-http 5.12.0, prism-http-server 5.12.2
(``overrides`` in package.json). Prism 5.15.10 and later (5.16.0 is the latest) declare
``engines.node >= 24.14`` / ``>= 24.18`` and we run Node.js 20: 5.16.0 does start there, but
``--multiprocess`` crashes (``Cannot read properties of undefined (reading 'isPrimary')``), and
5.14.2's caret ranges would otherwise pull the Node-24-only 5.16.0 core in. Move to 5.16 with Node 24.

Which spec: the vendor's, not the normalised one
    Prism serves the verified vendor spec (``scripts.spec_source.obtain()``), only mounted under
    the interface prefixes (below). Bodies, path and ordinary query parameters are identical in
    both specs, so Prism checks them the same way; but the normalised spec is our own reading of
    the API, and checking the generated client against the document it was generated from would
    prove little. Where the two differ, the normalised spec makes Prism no stricter:

    * bracket arrays: the normalised spec names the parameter ``email_list[]``. Prism cannot
      match a parameter whose name holds brackets (stoplightio/prism#2443, open): it looks for
      the percent-encoded, lower-cased name ``email_list%5b%5d`` among the decoded query keys,
      so ``email_list[]=a&email_list[]=b`` never matches it (only a double-encoded
      ``email_list%255b%255d=a`` would). Against either spec the generated client's
      ``email_list[]=a&email_list[]=b`` is an unknown query key, and Prism ignores unknown
      query keys; had such a parameter been required, the normalised spec would even reject
      every correct request. The contract suite checks the bracket syntax in the URL the client
      sent instead.
    * string parameters whose description asks for array syntax (``reward_id`` and 6 more): the
      client sends one value (a string) as ``reward_id=x``, which both specs accept, and a list
      as ``reward_id[]=a&reward_id[]=b``, ignored under either spec for the same reason. Under the
      vendor's spec ``reward_id=a&reward_id=b`` is reported (``must be string``), as the PHP
      server would only see ``b``.

Base URLs: Prism ignores the servers' path prefix
    Prism mocks every path at the root (``GET /agreements``); ``servers`` and its variables only
    feed its optional ``?__server=`` check, and ``GET /webservice/rest-api/enterprise-interface/
    v1.0/agreements`` answers 404 ``NO_PATH_MATCHED_ERROR``. So that clients use the real URL
    shape, the spec Prism reads (``build/prism/openapi-mounted.json``) has every path mounted
    under ``/webservice/rest-api/<interface>-interface/v1.0`` for each interface that serves the
    operation (``scripts.catalog.interfaces``: "available only in Enterprise API" and the like).
    An Enterprise-only operation called on the customer URL gets Prism's 404, and
    ``POST .../enterprise-interface/v1.0/tokens`` too; the bare root paths answer 404.

What Prism does with this spec (static mode; tests/test_prism_faults.py pins what clients rely on)
    * Request validation: a violation comes back in the ``sl-violations`` response header, a JSON
      list of ``{location, severity, code, message}``. Every operation declares a 400, so an
      invalid request is answered 400 with the spec's example ``BadRequestErrorBody``
      (``count=0`` -> ``Request query parameter count must be >= 1``; a missing body field ->
      ``Request body must have required property 'device'``); where no 4xx is declared Prism
      would answer 422 ``application/problem+json``. A deprecated parameter is a ``Warning`` in
      the same header on a 2xx answer. Unknown query parameters are never reported. ``readOnly``
      properties in a request body are accepted. Response violations are only logged (no
      ``--errors``).
    * Auth: without ``Authorization`` (or with a scheme other than Bearer or Basic) an operation
      with security answers 401 with the ``UnauthorizedErrorBody`` example and
      ``sl-violations: [{"code": 401, "message": "Invalid security scheme used"}]``. Any bearer
      token is accepted, and ``Basic`` too (the spec still lists it). The 12 ``security: []``
      operations answer without a token.
    * ``Prefer: code=429`` / ``code=503``: that status with no body and no ``Retry-After`` (the
      spec declares neither). Security is checked first: without a token it is still 401. A code
      the operation does not declare (``code=418``) gives 404 ``NOT_FOUND`` problem+json.
    * ``Prefer: example=<key>``: the spec has no named ``examples`` (only ``example`` on schemas
      and properties), so every key answers 404 ``NOT_FOUND`` ("Response for contentType:
      application/json and exampleKey: ... does not exist").
    * ``Prefer: dynamic=true``: a random, schema-valid body (json-schema-faker) instead of the
      assembled examples, different on every call, with random extra keys where objects allow
      additional properties (``--seed`` would make it stable).
    * ``POST /users/actions/login`` (no token needed; an empty body is valid, nothing is
      required) answers 200 (201 with ``Prefer: code=201``, the same body) with ``bearer_token``
      ``09359095c5da43c7ae11e710eabce49418715a6a`` and ``valid_to`` ``2019-01-04 10:31:56``: a
      token that expired long ago. ``POST /tokens`` (customer URL only) answers 201
      ``{"data": {"token_id": "4d8121de..."}}`` for a valid body, 400 otherwise (``device``,
      ``setup`` with ``allowed_gps`` and ``allowed_notifications``, ``external_application_id``).
    * ``email_list[]=a&email_list[]=b`` (the generated client's syntax): 200, no violation, the
      values unchecked (see above). ``email_list=a&email_list=b`` is validated as the array.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from carecloud_async._environment import customer_environment, enterprise_environment, export_line
from scripts import catalog, normalise, spec_source
from scripts.server_process import free_port

ROOT = Path(__file__).resolve().parent.parent
PRISM_BIN = ROOT / "node_modules" / ".bin" / "prism"
BUILD_DIR = ROOT / "build" / "prism"
HOST = "127.0.0.1"
VERSION = "v1.0"
INTERFACES = ("enterprise", "customer")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0
PORT_ATTEMPTS = 3


class MockServerError(RuntimeError):
    """Prism is not installed, could not start, or did not answer in time."""


def api_prefix(interface: str) -> str:
    """The servers' path for one interface: ``/webservice/rest-api/enterprise-interface/v1.0``."""
    if interface not in INTERFACES:
        raise ValueError(f"unknown interface {interface!r}; expected one of {INTERFACES}")
    return f"/webservice/rest-api/{interface}-interface/{VERSION}"


@dataclass
class PrismServer:
    """A running Prism: its URLs, and the process behind them (stopped by :meth:`stop`)."""

    port: int
    spec: Path
    log: Path | None
    process: subprocess.Popen[bytes] = field(repr=False)
    remove_log: bool = False  #: the log is a temporary file of ours, removed by :meth:`stop`

    @property
    def root_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def enterprise_url(self) -> str:
        return self.base_url("enterprise")

    @property
    def customer_url(self) -> str:
        return self.base_url("customer")

    def base_url(self, interface: str) -> str:
        """The base URL of ``"enterprise"`` or ``"customer"``, as a real project would have it."""
        return self.root_url + api_prefix(interface)

    def environment(self, interface: str) -> dict[str, str]:
        """``CARECLOUD_*`` variables with which ``CareCloud.from_env()`` and the ``carecloud``
        command use this mock's ``"enterprise"`` or ``"customer"`` API. The project URL is the
        origin: the client adds ``/webservice/rest-api/...`` itself (and refuses a URL that holds
        it). Prism accepts any login, password and ids; these are the demo's."""
        if interface == "enterprise":
            return enterprise_environment(
                self.root_url,
                user_external_application_id="89d1a6111b3fb6e74665d948",
                login="demo@example.com",
                password="demo-password",  # noqa: S106 (Prism accepts any)
            )
        return customer_environment(
            self.root_url, external_application_id="82de12eb8b138791e678fd11c3", device_id="mock-device"
        )

    def output(self, lines: int = 40) -> str:
        """The last lines Prism wrote, for error messages."""
        if self.log is None:
            return "(on the terminal above)"
        if not self.log.is_file():
            return "(no log)"
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:]) or "(nothing)"

    def raise_if_exited(self) -> None:
        """Raise :class:`MockServerError` with Prism's last output if it is no longer running."""
        if self.process.poll() is not None:
            raise MockServerError(f"Prism exited with status {self.process.returncode}; its output:\n{self.output()}")

    def stop(self) -> None:
        """Terminate Prism's process group, kill it if it lingers. Idempotent."""
        if self.process.poll() is None:
            _signal_group(self.process, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _signal_group(self.process, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)
        if self.remove_log and self.log is not None:
            self.log.unlink(missing_ok=True)
        atexit.unregister(self.stop)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def ensure_installed() -> Path:
    """The Prism executable, or :class:`MockServerError` saying how to install it."""
    if shutil.which("node") is None:
        raise MockServerError("Node.js (`node`) is not on PATH; Prism needs Node.js 18.20 or newer")
    if not PRISM_BIN.exists():
        raise MockServerError(f"Prism is not installed ({PRISM_BIN} is missing): run `make install-mock`")
    return PRISM_BIN


def mount(spec: normalise.Spec) -> normalise.Spec:
    """A copy of ``spec`` whose paths sit under each interface prefix that serves them."""
    mounted = dict(spec)
    paths: dict[str, Any] = {}
    for interface in INTERFACES:
        prefix = api_prefix(interface)
        for path, item in spec["paths"].items():
            kept = {
                key: value
                for key, value in item.items()
                if key not in normalise.HTTP_METHODS or interface in catalog.interfaces(spec, value)
            }
            if any(key in normalise.HTTP_METHODS for key in kept):
                paths[prefix + path] = kept
    mounted["paths"] = paths
    mounted["servers"] = [{"url": f"http://{HOST}", "description": "Prism, local mock"}]
    return mounted


def build_spec(source: Path | None = None) -> Path:
    """Write the spec Prism serves (the verified vendor spec, mounted) and return its path."""
    spec = normalise.load(source or spec_source.obtain())
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    target = BUILD_DIR / "openapi-mounted.json"
    # Atomic: other sessions may start Prism from the same tree at the same time.
    fd, tmp = tempfile.mkstemp(dir=BUILD_DIR, prefix=".openapi-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(mount(spec), fh, ensure_ascii=False)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _wait_until_answering(server: PrismServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise MockServerError(
                    f"Prism exited with status {server.process.returncode} while starting; "
                    f"its output:\n{server.output()}"
                )
            try:
                # Any HTTP answer (Prism says 404 for the root) means it is serving.
                client.get(server.root_url + "/")
            except httpx.TransportError:
                time.sleep(0.2)
            else:
                return
    raise MockServerError(
        f"Prism did not answer on {server.root_url} within {timeout:.0f} s; its output:\n{server.output()}"
    )


def start(
    port: int | None = None,
    *,
    spec: Path | None = None,
    log: Path | bool | None = True,
    verbosity: str = "warn",
    timeout: float = START_TIMEOUT,
) -> PrismServer:
    """Start Prism and wait until it answers. Stop it with :meth:`PrismServer.stop`.

    ``port=None`` picks a free port. ``log=True`` writes Prism's output to a temporary file
    under ``build/prism/`` (quoted in errors, removed by :meth:`PrismServer.stop`), a path writes
    it there, ``None`` leaves it on the terminal. ``verbosity`` is Prism's log level ("info" logs
    every request). ``spec`` is a ready spec file; by default :func:`build_spec` makes one.
    """
    executable = ensure_installed()
    spec_file = spec or build_spec()
    attempts = 1 if port else PORT_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            return _start_once(
                executable, port or free_port(), spec_file, log=log, verbosity=verbosity, timeout=timeout
            )
        except MockServerError as exc:
            # A free port can be taken between our probe and Prism's bind: try another one.
            if attempt == attempts or "EADDRINUSE" not in str(exc):
                raise
    raise AssertionError("unreachable")


def _start_once(
    executable: Path, chosen: int, spec_file: Path, *, log: Path | bool | None, verbosity: str, timeout: float
) -> PrismServer:
    if log is True:
        BUILD_DIR.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=BUILD_DIR, prefix="prism-", suffix=".log")
        os.close(fd)
        log_path: Path | None = Path(name)
    else:
        log_path = log or None
    command = [str(executable), "mock", "--host", HOST, "--port", str(chosen), "-v", verbosity, str(spec_file)]
    out: IO[bytes] | None = log_path.open("wb") if log_path else None
    try:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,  # its own process group: stopped as a whole
        )
    finally:
        if out is not None:
            out.close()
    server = PrismServer(port=chosen, spec=spec_file, log=log_path, process=process, remove_log=log is True)
    atexit.register(server.stop)  # a crashed caller must not leave Prism behind
    try:
        _wait_until_answering(server, timeout)
    except BaseException:
        server.stop()  # the error quotes the log's tail
        raise
    return server


@contextlib.contextmanager
def running(
    port: int | None = None, *, log: Path | bool | None = True, verbosity: str = "warn"
) -> Iterator[PrismServer]:
    """Prism for the duration of a ``with`` block (arguments as for :func:`start`)::

    with running() as prism:
        httpx.get(prism.enterprise_url + "/tests/connection")
    """
    server = start(port, log=log, verbosity=verbosity)
    try:
        yield server
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def running_async(
    port: int | None = None, *, log: Path | bool | None = True, verbosity: str = "warn"
) -> AsyncIterator[PrismServer]:
    """:func:`running` for async code (the start-up wait runs in a thread)::

    async with running_async() as prism:
        async with CareCloud.enterprise(base_url=prism.enterprise_url, ...) as cc: ...
    """
    server = await asyncio.to_thread(start, port, log=log, verbosity=verbosity)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.mock_server", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)
    # `make mock` may be stopped with SIGTERM as well as Ctrl-C: both end in the `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        # Prism's own output (a line per route at start, then a line per request) goes to a log
        # file, so that the URLs are the last thing on the terminal.
        server = start(args.port, log=True, verbosity="info")
    except (MockServerError, spec_source.SpecError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while starting: start() has stopped Prism already
        return 130
    try:
        print(f"Prism is serving the CareCloud spec ({server.spec}) on {HOST}:{server.port}", flush=True)
        print(f"Its log, a line per request: {server.log}", flush=True)
        print(f"Base URLs (curl): {server.enterprise_url}, {server.customer_url}", flush=True)
        print("Ctrl-C to stop. To use it from another shell (CareCloud.from_env(), `carecloud`):", flush=True)
        for interface in ("enterprise", "customer"):
            print(f"{interface.capitalize()} API:\n  {export_line(server.environment(interface))}", flush=True)
        code = server.process.wait()
        print(f"error: Prism exited with status {code}; its output:\n{server.output()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
