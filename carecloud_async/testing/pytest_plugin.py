"""pytest fixtures for the fake CareCloud (registered by the ``pytest11`` entry point).

- ``carecloud_fake``: a fresh :class:`~carecloud_async.testing.FakeCareCloud` per test. At the end
  of the test, a request that broke the spec and was not seen by the test (the client swallowed the
  :class:`~carecloud_async.testing.SpecViolation`) fails it; a test that expects violations clears
  ``carecloud_fake.violations``.
- ``carecloud_enterprise``: a :class:`~carecloud_async.CareCloud` for the Enterprise API, bound to
  that fake in-process and closed after the test.
- ``carecloud_customer``: a Customer API client (one device, no customer logged in) bound to it.

The client fixtures are async: pytest-asyncio runs them (``asyncio_mode = "auto"`` or its
``pytest.mark.asyncio``). This module loads nothing of the client until a fixture runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .._client import CustomerCareCloud, EnterpriseCareCloud
    from ._fake import FakeCareCloud

try:  # pytest-asyncio's decorator runs an async fixture in its strict mode too
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover (without pytest-asyncio the client fixtures cannot run anyway)
    _async_fixture = pytest.fixture  # type: ignore[assignment]


@pytest.fixture
def carecloud_fake() -> Iterator[FakeCareCloud]:
    """A fresh fake CareCloud; fails the test if a request broke the spec unnoticed."""
    from ._fake import FakeCareCloud

    fake = FakeCareCloud()
    yield fake
    if fake.violations:
        listed = "\n".join(str(violation) for violation in fake.violations)
        pytest.fail(f"requests broke the CareCloud spec:\n{listed}", pytrace=False)


@_async_fixture
async def carecloud_enterprise(carecloud_fake: FakeCareCloud) -> AsyncIterator[EnterpriseCareCloud]:
    """An Enterprise API client logged in to ``carecloud_fake`` (in-process, no sockets)."""
    async with carecloud_fake.enterprise_client() as client:
        yield client


@_async_fixture
async def carecloud_customer(carecloud_fake: FakeCareCloud) -> AsyncIterator[CustomerCareCloud]:
    """A Customer API client (device token, no customer logged in) bound to ``carecloud_fake``."""
    async with carecloud_fake.customer_client() as client:
        yield client
