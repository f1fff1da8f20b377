"""The ``carecloud`` command (typer + rich): a thin shell over the library functions of
:mod:`carecloud_async.cli`. Each command parses its options, calls one of them and prints.

Install with ``pip install 'carecloud-async[cli]'``; run ``carecloud --help``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from carecloud_api import parsing
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from .. import __version__
from ._auth_info import check_auth, device_token_state
from ._call import prepare_call, render_json, to_plain
from ._exit_codes import BAD_INPUT, INTERRUPTED
from ._export import FORMATS, ListExport
from ._operations import kind_of, parameters_of, search_operations
from ._outbox_app import outbox_app
from ._running import err as _err
from ._running import reader_left, silence_stdout
from ._running import reported_errors as _reported_errors
from ._running import run_reported as _run
from ._running import with_client as _with_client
from ._settings import interface_of_settings

T = TypeVar("T")

app = typer.Typer(
    name="carecloud",
    help=(
        "Call the CareCloud REST APIs from a terminal: any operation, exports of any list, auth checks, "
        "spec change reports.\n\n"
        "Configured like CareCloud.from_env(): CARECLOUD_PROJECT_URL, CARECLOUD_LOGIN, CARECLOUD_PASSWORD, "
        "... (options override them; the password is read from the environment only).\n\n"
        "\b\nExit codes:\n"
        "  0 ok                           5 not found\n"
        "  1 other failure                6 request refused (400, 405, other 4xx)\n"
        "  2 bad input                    7 server busy or failed (429, 5xx)\n"
        "  3 configuration                8 network (connection, timeout)\n"
        "  4 authentication (401, 403)    130 interrupted (Ctrl-C)"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
auth_app = typer.Typer(help="Check credentials and tokens (never prints a token).", no_args_is_help=True)
spec_app = typer.Typer(help="Read what a new CareCloud OpenAPI spec changes.", no_args_is_help=True)
app.add_typer(auth_app, name="auth")
app.add_typer(spec_app, name="spec")
app.add_typer(outbox_app, name="outbox")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"carecloud {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(  # noqa: PLR0917 (typer passes every option by keyword)
    ctx: typer.Context,
    project_url: Annotated[
        str | None, typer.Option(help="The project's domain (CARECLOUD_PROJECT_URL), e.g. demo.crmcarecloud.com.")
    ] = None,
    interface: Annotated[
        str | None, typer.Option(help="enterprise or customer (CARECLOUD_INTERFACE).", show_default=False)
    ] = None,
    login: Annotated[str | None, typer.Option(help="Enterprise user login (CARECLOUD_LOGIN).")] = None,
    user_external_application_id: Annotated[
        str | None, typer.Option(help="Enterprise application id (CARECLOUD_USER_EXTERNAL_APPLICATION_ID).")
    ] = None,
    external_application_id: Annotated[
        str | None, typer.Option(help="Customer API application id (CARECLOUD_EXTERNAL_APPLICATION_ID).")
    ] = None,
    device_id: Annotated[str | None, typer.Option(help="Customer API device id (CARECLOUD_DEVICE_ID).")] = None,
    token_file: Annotated[
        str | None,
        typer.Option(
            help="File that keeps the Customer API device token (CARECLOUD_TOKEN_FILE; ~/.carecloud/tokens.json)."
        ),
    ] = None,
    time_zone: Annotated[
        str | None, typer.Option(help="The project's IANA time zone (CARECLOUD_TIME_ZONE), e.g. Europe/Prague.")
    ] = None,
    language: Annotated[str | None, typer.Option(help="Accept-Language (CARECLOUD_LANGUAGE).")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds per request (CARECLOUD_TIMEOUT).")] = None,
    max_attempts: Annotated[
        int | None, typer.Option(help="Attempts on 429/503 and connection errors (CARECLOUD_MAX_ATTEMPTS).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every request (no secrets).")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Options shared by every command."""
    ctx.obj = {
        "project_url": project_url,
        "interface": interface,
        "login": login,
        "user_external_application_id": user_external_application_id,
        "external_application_id": external_application_id,
        "device_id": device_id,
        "token_file": token_file,
        "time_zone": time_zone,
        "language": language,
        "timeout": timeout,
        "max_attempts": max_attempts,
    }
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs one line per request at INFO (with -v); httpcore's connection internals are noise.
    logging.getLogger("httpcore").setLevel(logging.INFO)
    if not verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)
    # The command owns the process: pause the garbage collector while each page is parsed (an
    # export builds many; carecloud_api.parsing.set_gc_pause), and give the setting back after.
    previous = parsing.set_gc_pause(True)
    ctx.call_on_close(lambda: parsing.set_gc_pause(previous))


# --------------------------------------------------------------------------- running


async def _interruptible(coroutine: Coroutine[Any, Any, T]) -> tuple[T | None, bool]:
    """Run ``coroutine``; Ctrl-C cancels it (its ``finally`` blocks run: files are closed whole)
    instead of raising KeyboardInterrupt wherever the interpreter happens to be."""
    task = asyncio.ensure_future(coroutine)
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        handled = True
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        handled = False
    try:
        return await task, False
    except asyncio.CancelledError:
        if not task.cancelled():
            raise
        return None, True
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGINT)


def _pretty(option: bool | None) -> bool:
    return sys.stdout.isatty() if option is None else option


#: `call` and `export` accept stray arguments (in ctx.args) so that `carecloud call getCustomers
#: email=x` can say to use -p, rather than click's bare "unexpected extra argument".
_STRAY_ARGUMENTS = {"allow_extra_args": True}


def _refuse_extra(command: str, operation: str, extra: list[str]) -> None:
    """Exit 2 with a hint when parameters were given without -p (or other stray arguments)."""
    if not extra:
        return
    given = " ".join(shlex.quote(text) for text in extra)
    if all("=" in text for text in extra):
        fixed = " ".join(f"-p {shlex.quote(text)}" for text in extra)
        hint = f"parameters are options: carecloud {command} {shlex.quote(operation)} {fixed}"
    else:
        hint = f"carecloud {command} takes one OPERATION; parameters go in -p name=value"
    _err.print(f"unexpected argument(s) {given}: {hint}", markup=False)
    raise typer.Exit(BAD_INPUT)


# --------------------------------------------------------------------------- ops and call


@app.command(short_help="Search the 322 operations (method, path, API, kind, Python module).")
def ops(
    filter_: Annotated[
        list[str] | None,
        typer.Argument(metavar="[FILTER]...", help="Words that must all appear (operationId, method, path, tag)."),
    ] = None,
    interface: Annotated[
        str | None, typer.Option("--interface", "-i", help="Only operations of this API: enterprise or customer.")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="Only list, action or call operations.")] = None,
    params: Annotated[bool, typer.Option("--params", "-p", help="Also show each operation's parameters.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per operation.")] = False,
) -> None:
    """List the operations of the API (322), searchable: `carecloud ops customer points --kind list`.

    Each line: method, path, operationId, APIs, kind and the generated module to import
    (`from carecloud_api.api.customers import get_customers`). An exact operationId or module
    name shows that operation only: `carecloud ops getCustomers --params`.
    """
    with _reported_errors():
        found = search_operations(" ".join(filter_ or []), interface=interface, kind=kind)
        from .._resources._method_paths import METHOD_PATHS  # where each operation is in the resource tree

        for op in found:
            apis = ",".join(op.interfaces)
            if as_json:
                entry: dict[str, Any] = {
                    "operation_id": op.operation_id,
                    "method": op.method,
                    "path": op.path,
                    "interfaces": list(op.interfaces),
                    "kind": kind_of(op),
                    "tag": op.tag,
                    "module": op.module,
                    "method_path": METHOD_PATHS.get((op.method, op.path)),
                }
                if params:
                    entry["parameters"] = [
                        {"name": p.name, "type": p.describe(), "required": p.required} for p in parameters_of(op)
                    ]
                typer.echo(json.dumps(entry))
                continue
            typer.echo(f"{op.method:<6} {op.path:<60} {op.operation_id:<44} {apis:<19} {kind_of(op):<6} {op.module}")
            if params:
                typer.echo(f"         in Python: {METHOD_PATHS.get((op.method, op.path))}(...)")
                for p in parameters_of(op):
                    where = "body" if p.is_body else ("path" if p.positional else "query")
                    need = "required" if p.required else "optional"
                    typer.echo(f"         {p.name:<34} {where:<5} {need:<8} {p.describe()}")
        if not found:
            _err.print("no operation matches", markup=False)
            raise typer.Exit(BAD_INPUT)
        if not as_json and sys.stdout.isatty():
            _err.print(f"{len(found)} operations", markup=False)


@app.command(short_help="Call any operation; print its answer as JSON.", context_settings=_STRAY_ARGUMENTS)
def call(
    ctx: typer.Context,
    operation: Annotated[
        str,
        typer.Argument(
            metavar="OPERATION", help="operationId (getCustomers), module (get_customers) or 'METHOD /path'."
        ),
    ],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="name=value, repeatable; arrays: repeat it or separate with commas; enums by value.",
        ),
    ] = None,
    body: Annotated[
        str | None, typer.Option("--body", "-b", help="Request body: JSON text, @file.json, or @- for stdin.")
    ] = None,
    pretty: Annotated[
        bool | None, typer.Option("--pretty/--compact", help="Indented JSON (default on a terminal).")
    ] = None,
) -> None:
    """Call any operation and print its answer as JSON (indented on a terminal, one line in a pipe).

    Parameters are checked against the operation's signature before anything is sent
    (`carecloud ops OPERATION --params` lists them, and the operation's method in Python:
    `cc.customers.list(...)`).

    \b
    Examples:
      carecloud call getCustomers -p email=jane@example.com -p count=5
      carecloud call getCustomers -p email_list=a@x.cz,b@x.cz -p sort_direction=DESC
      carecloud call "GET /customers/8ea2591121e636086a4a9c0992"
      carecloud call postCustomerVerifyCredentials --body @credentials.json
    """
    _refuse_extra("call", operation, ctx.args)
    with _reported_errors():
        # Bad input before any setting; an operation of the other API before its arguments.
        interface = interface_of_settings(ctx.obj)
        function, args, kwargs = prepare_call(operation, param or [], body, interface=interface)
    answer = _run(_with_client(ctx, lambda cc: cc.call(function, *args, **kwargs)))
    if answer is not None:
        answer = to_plain(answer)
        typer.echo(render_json(answer, pretty=_pretty(pretty)))


# --------------------------------------------------------------------------- export


class _Bar:
    """A rich progress bar on stderr (items / total_items, rate, ETA); nothing off a terminal."""

    def __init__(self, label: str, enabled: bool):
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if enabled:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                console=_err,
                transient=False,
            )
            self._task = self._progress.add_task(label, total=None, rate="")
            self._progress.start()

    def update(self, done: int, total: int | None) -> None:
        if self._progress is None or self._task is None:
            return
        task = self._progress.tasks[0]
        speed = task.speed
        rate = f"{speed:,.0f} items/s" if speed else ""
        self._progress.update(self._task, completed=done, total=total, rate=rate)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


@app.command(short_help="Write a whole list to a JSON Lines or CSV file.", context_settings=_STRAY_ARGUMENTS)
def export(  # noqa: PLR0917 (typer passes every option by keyword)
    ctx: typer.Context,
    operation: Annotated[
        str, typer.Argument(metavar="OPERATION", help="A list operation: getCustomers, 'GET /purchases', ...")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The file to write (in a folder that exists).")],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="A filter, name=value, repeatable (as for call).")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help=f"{' or '.join(FORMATS)} (default: from the file name: .jsonl, .ndjson, .csv)."
        ),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", help="Pages in flight (1 to 32).")] = 1,
    page_size: Annotated[int, typer.Option("--page-size", help="Items per request (1 to 1000).")] = 100,
    max_items: Annotated[int | None, typer.Option("--max-items", help="Stop after this many items.")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the file from the items it holds (after a Ctrl-C).")
    ] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing file.")] = False,
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="Progress bar (default: on a terminal).")
    ] = None,
) -> None:
    """Write every item of a list into a JSON Lines or CSV file, page by page.

    CSV flattens nested objects into dotted columns (personal_information.first_name); arrays are
    JSON in one cell. Ctrl-C leaves a valid file; --resume continues it. A progress bar (items /
    total_items, rate, time left) is shown on a terminal only.

    \b
    Examples:
      carecloud export getCustomers --out customers.csv --concurrency 4
      carecloud export getPurchases --out purchases.jsonl -p store_id=81eaeea13b8984a169c490a325
      carecloud export getCustomers --out customers.csv --resume
    """
    _refuse_extra("export", operation, ctx.args)
    with _reported_errors():
        job = ListExport(
            operation,
            out,
            interface=interface_of_settings(ctx.obj),
            assignments=param or [],
            fmt=fmt,
            page_size=page_size,
            concurrency=concurrency,
            max_items=max_items,
            resume=resume,
            overwrite=overwrite,
        )

    async def work(cc: Any) -> Any:
        show = _err.is_terminal if progress is None else progress
        bar = _Bar(f"{job.operation.operation_id} -> {out.name}"[:40], show)
        try:
            return await job.run(cc, on_progress=bar.update)
        finally:
            bar.stop()

    summary, interrupted = _run(_interruptible(_with_client(ctx, work)))
    if interrupted:
        _err.print(
            f"interrupted: {job.start + job.written} items in {out} (a valid file); "
            "run the same command with --resume to continue",
            markup=False,
        )
        raise typer.Exit(INTERRUPTED)
    assert summary is not None
    total = f" of {summary.total_items}" if summary.total_items is not None else ""
    resumed = f" (resumed at {summary.start})" if summary.start else ""
    _err.print(f"{summary.in_file}{total} items in {summary.path} ({summary.format}){resumed}", markup=False)


# --------------------------------------------------------------------------- auth


@auth_app.command("check", short_help="Log in; print the token's expiry (never the token).")
def auth_check(ctx: typer.Context) -> None:
    """Log in (Enterprise) or get the device token (Customer) and print until when the token is
    valid, in the project's time zone. The token itself is never printed."""
    status = _run(_with_client(ctx, check_auth))
    typer.echo(status.describe())


@auth_app.command("device", short_help="Customer API: the stored device token (masked).")
def auth_device(
    ctx: typer.Context,
    create: Annotated[
        bool, typer.Option("--create", help="Create a device token if the token file holds none.")
    ] = False,
) -> None:
    """Customer API: show the stored device token's state (masked), or create one."""
    state = _run(_with_client(ctx, lambda cc: device_token_state(cc, create=create)))
    typer.echo(state.describe())


# --------------------------------------------------------------------------- spec


@spec_app.command("diff", short_help="The change report between two spec files.")
def spec_diff(
    old: Annotated[Path, typer.Argument(metavar="OLD", help="The current spec (YAML or JSON).")],
    new: Annotated[Path, typer.Argument(metavar="NEW", help="The new spec.")],
    as_json: Annotated[bool, typer.Option("--json", help="The changes as JSON lines instead of the report.")] = False,
) -> None:
    """Print the change report `make update-spec` writes: what changed, breaking or not, and the
    suggested version bump."""
    from ._spec_report import spec_changes, spec_report

    with _reported_errors():
        if as_json:
            for change in spec_changes(old, new):
                typer.echo(json.dumps(change))
        else:
            typer.echo(spec_report(old, new))


def main() -> None:
    """The console script's entry point."""
    try:
        app()
    except SystemExit as exit_:
        # `carecloud call ... | head`: typer turns a broken pipe outside our commands' error
        # reporting into exit 1 (and wraps stdout to pacify its flush); the reader left, which
        # is not an error of ours.
        pacified = type(sys.stdout).__name__.endswith("PacifyFlushWrapper")
        if exit_.code == 1 and pacified and reader_left():
            silence_stdout()
            sys.exit(0)
        raise
