"""A fake CareCloud for testing integrations: stateful, spec-validating, in-process or on loopback.

    from carecloud_async.testing import FakeCareCloud

    fake = FakeCareCloud()
    customer = fake.customers.create(email="jane@example.com")
    async with fake.enterprise_client() as cc:          # a CareCloud bound to the fake, no sockets
        found = await cc.call(get_customers, email="jane@example.com")

With pytest, the plugin (installed with the package, entry point ``pytest11``) gives the fixtures
``carecloud_fake``, ``carecloud_enterprise`` and ``carecloud_customer``. Other languages and the
command line use the loopback server: ``python -m carecloud_async.testing --port 8080``.

Names load on first use: importing ``carecloud_async`` never loads this package, and importing
this package loads nothing until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._fake import (
        FakeAnswerInvalid,
        FakeCareCloud,
        FakeTransport,
        Hold,
        ReceivedRequest,
        RequestCounts,
        RequestFilter,
        SpecViolation,
    )
    from ._records import BalanceRecords, CardRecords, CustomerRecords, Records, StoreRecords
    from ._samples import sample_purchase
    from ._server import FakeServer
    from ._state import DEFAULT_ENTERPRISE_USER

_MODULE_OF: dict[str, str] = {
    "DEFAULT_ENTERPRISE_USER": "._state",
    "FakeAnswerInvalid": "._fake",
    "FakeCareCloud": "._fake",
    "FakeTransport": "._fake",
    "Hold": "._fake",
    "ReceivedRequest": "._fake",
    "RequestCounts": "._fake",
    "RequestFilter": "._fake",
    "SpecViolation": "._fake",
    "BalanceRecords": "._records",
    "CardRecords": "._records",
    "CustomerRecords": "._records",
    "Records": "._records",
    "StoreRecords": "._records",
    "FakeServer": "._server",
    "sample_purchase": "._samples",
}

__all__ = [
    "DEFAULT_ENTERPRISE_USER",
    "BalanceRecords",
    "CardRecords",
    "CustomerRecords",
    "FakeAnswerInvalid",
    "FakeCareCloud",
    "FakeServer",
    "FakeTransport",
    "Hold",
    "ReceivedRequest",
    "Records",
    "RequestCounts",
    "RequestFilter",
    "SpecViolation",
    "StoreRecords",
    "sample_purchase",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
