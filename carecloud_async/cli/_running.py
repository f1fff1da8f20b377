"""How every ``carecloud`` command runs its work: errors as one line on stderr with their exit
code (never a traceback), a client from the command's settings, one event loop per command.
Shared by the command modules (:mod:`._app`, :mod:`._outbox_app`); needs typer and rich.

    answer = run_reported(with_client(ctx, lambda cc: cc.call(get_customers)))
"""

from __future__ import annotations

import asyncio
import os
import select
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console

from ._exit_codes import error_message, exit_code_for
from ._settings import client_from_settings

__all__ = ["err", "reader_left", "reported_errors", "run_reported", "silence_stdout", "with_client"]

T = TypeVar("T")

#: stderr, for messages (no markup, no highlighting: texts come from users and servers).
err = Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Every failure as one message on stderr and its exit code; never a traceback."""
    try:
        yield
    except typer.Exit:
        raise
    except (Exception, KeyboardInterrupt) as exc:
        if isinstance(exc, BrokenPipeError) and reader_left():  # `carecloud ops | head`
            silence_stdout()
            raise typer.Exit(0) from None
        err.print(error_message(exc) if not isinstance(exc, KeyboardInterrupt) else "interrupted", markup=False)
        raise typer.Exit(exit_code_for(exc)) from None


def reader_left() -> bool:
    """True when stdout is a pipe whose reader has gone (``carecloud ops | head``): Linux and
    macOS report POLLERR on such a pipe. False elsewhere, and for any other broken pipe."""
    try:
        poller = select.poll()
        poller.register(sys.__stdout__.fileno() if sys.__stdout__ else -1, select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), no real stdout (tests)
        return False


def silence_stdout() -> None:
    """After the reader of stdout left (not an error of ours: the command exits 0), send what is
    still buffered to /dev/null, so the interpreter's last flush does not fail on the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ else 1)


async def with_client(ctx: typer.Context, work: Callable[[Any], Awaitable[T]]) -> T:
    """``work(cc)`` with a client made from the command's settings (options over ``CARECLOUD_*``)."""
    async with client_from_settings(ctx.obj) as cc:
        return await work(cc)


def run_reported(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` in a new event loop, its failures reported by :func:`reported_errors`."""
    with reported_errors():
        return asyncio.run(coroutine)
