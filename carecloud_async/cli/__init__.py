"""The ``carecloud`` command line, and the library functions behind each of its commands.

Every command is a call a Python program can make too (none of these import typer or rich; the
command itself, :mod:`carecloud_async.cli._app`, needs ``pip install 'carecloud-async[cli]'``):

    from carecloud_async.cli import ListExport, call_operation, client_from_settings

    async with client_from_settings({"project_url": "demo.crmcarecloud.com"}) as cc:
        answer = await call_operation(cc, "getCustomers", ["email=jane@example.com"])
        await ListExport("getCustomers", Path("customers.csv")).run(cc)

``carecloud ops`` is :func:`search_operations`, ``carecloud call`` :func:`call_operation`,
``carecloud export`` :class:`ListExport`, ``carecloud auth check`` :func:`check_auth`,
``carecloud auth device`` :func:`device_token_state` and ``carecloud spec diff``
:func:`spec_report`; ``carecloud outbox`` makes the calls of :mod:`carecloud_async.outbox`
(:func:`~carecloud_async.outbox.list_records`, ...). Exit codes: :mod:`carecloud_async.cli._exit_codes`.
"""

from __future__ import annotations

from ._auth_info import AuthStatus, DeviceTokenState, check_auth, device_token_state, mask
from ._call import call_operation, prepare_call, render_json, to_plain
from ._exit_codes import error_message, exit_code_for
from ._export import ExportSummary, ListExport, csv_columns, existing_items, flatten_row, read_back
from ._operations import (
    CallArguments,
    Parameter,
    UnknownOperation,
    find_operation,
    kind_of,
    parameters_of,
    parse_arguments,
    search_operations,
)
from ._settings import OPTION_VARIABLES, client_from_settings, merged_environment
from ._spec_report import spec_changes, spec_report

__all__ = [
    "OPTION_VARIABLES",
    "AuthStatus",
    "CallArguments",
    "DeviceTokenState",
    "ExportSummary",
    "ListExport",
    "Parameter",
    "UnknownOperation",
    "call_operation",
    "check_auth",
    "client_from_settings",
    "csv_columns",
    "device_token_state",
    "error_message",
    "existing_items",
    "exit_code_for",
    "find_operation",
    "flatten_row",
    "kind_of",
    "mask",
    "merged_environment",
    "parameters_of",
    "parse_arguments",
    "prepare_call",
    "read_back",
    "render_json",
    "search_operations",
    "spec_changes",
    "spec_report",
    "to_plain",
]
