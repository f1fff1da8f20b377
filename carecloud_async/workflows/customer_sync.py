"""Customers identified by your own system's id: find them, and keep them in sync (Enterprise API).

A customer created with a customer source record (the source is your system, ``external_id`` the
customer's id there; see :func:`~carecloud_async.workflows.sign_up_customer`) can be found by that
id through ``GET /customer-source-records``:

    customer = await find_customer_by_external_id(cc, customer_source_id=eshop, external_id="ESHOP-1001")

Synchronizing updates the customer found that way, or creates one when there is none:

    outcome = await sync_customer(cc, CustomerSyncRecord("ESHOP-1001", {"email": "jane@example.com",
                                                                        "language_id": "en"}),
                                  customer_source_id=eshop)
    report = await sync_customers(cc, records_from_your_database(), customer_source_id=eshop, concurrency=4)
    print(len(report.created), len(report.updated), len(report.failed))

**Duplicates.** The lookup by external id is what prevents them, so every customer you create
must carry its customer source record from the start (as the vendor's guide says). Within one
:func:`sync_customers` run, records with the same external id are synced one after the other, so
the second finds what the first created. CareCloud has no unique constraint on external ids: two
processes syncing the same new customer at the same moment can still both create it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from carecloud_api.api.customer_source_records import get_customer_source_records
from carecloud_api.api.customers import get_customer, get_sub_customer_properties, post_sub_customer_properties_batch
from carecloud_api.models.customer import Customer
from carecloud_api.models.customer_source_record import CustomerSourceRecord
from carecloud_api.models.post_sub_customer_properties_batch_body import PostSubCustomerPropertiesBatchBody
from carecloud_api.models.property_record import PropertyRecord

from .._client import CareCloud
from .._errors import CareCloudError, RequestValidationError
from ._checks import answered, require_text, require_whole
from .marketing import PropertyValue, make_property_records
from .signup import PERSONAL_FIELDS as _PERSONAL_FIELDS
from .signup import sign_up_customer
from .updates import UnknownField, update_record

__all__ = [
    "AmbiguousExternalId",
    "CustomerSyncRecord",
    "SyncAction",
    "SyncFailure",
    "SyncOutcome",
    "SyncReport",
    "find_customer_by_external_id",
    "find_customer_id_by_external_id",
    "sync_customer",
    "sync_customers",
]

#: What :func:`sync_customer` did.
SyncAction = Literal["created", "updated", "unchanged"]


class AmbiguousExternalId(CareCloudError):
    """More than one customer carries this external id in this customer source; nothing was
    changed. ``customer_ids`` lists them: merge them in CareCloud, then sync again."""

    def __init__(self, customer_source_id: str, external_id: str, customer_ids: tuple[str, ...]):
        super().__init__(
            f"external id {external_id!r} of customer source {customer_source_id} belongs to "
            f"{len(customer_ids)} customers ({', '.join(customer_ids)}); merge them before syncing"
        )
        self.customer_source_id = customer_source_id
        self.external_id = external_id
        self.customer_ids = customer_ids


@dataclass(frozen=True)
class CustomerSyncRecord:
    """One customer as your system has it: its ``external_id`` there, the personal-information
    fields to set (``{"email": ..., "language_id": "en"}``: fields not named are left as they are
    in CareCloud) and property records ``{property_id: value}``."""

    external_id: str
    personal_information: Mapping[str, Any]
    property_records: Mapping[str, PropertyValue] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncOutcome:
    """One synced customer: its ``external_id``, CareCloud ``customer_id`` and what was done
    (``changed`` lists the dotted fields an update changed)."""

    external_id: str
    customer_id: str
    action: SyncAction
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class SyncFailure:
    """A record :func:`sync_customers` could not sync, and why (the typed error)."""

    external_id: str
    error: CareCloudError


@dataclass(frozen=True)
class SyncReport:
    """What :func:`sync_customers` did, in the order the records finished."""

    created: tuple[SyncOutcome, ...]
    updated: tuple[SyncOutcome, ...]
    unchanged: tuple[SyncOutcome, ...]
    failed: tuple[SyncFailure, ...]

    def __str__(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.failed)} failed"
        )


async def find_customer_id_by_external_id(cc: CareCloud, *, customer_source_id: str, external_id: str) -> str | None:
    """The id of the customer whose source record in ``customer_source_id`` carries
    ``external_id`` (``GET /customer-source-records``), or None.

        customer_id = await find_customer_id_by_external_id(cc, customer_source_id=eshop, external_id="ESHOP-1001")

    Raises :class:`AmbiguousExternalId` when several customers carry it.
    """
    source = require_text(customer_source_id, "customer_source_id")
    wanted = require_text(external_id, "external_id")
    records: list[CustomerSourceRecord] = await cc.paginate(
        get_customer_source_records,
        item_type=CustomerSourceRecord,
        page_size=100,
        max_items=1000,
        customer_source_id=source,
        external_ids=[wanted],
    ).collect()
    # The filter is the server's; keep only exact matches in case it ever matches more loosely.
    exact = [r for r in records if r.external_id == wanted and r.customer_source_id == source]
    customer_ids = tuple(dict.fromkeys(r.customer_id for r in exact if isinstance(r.customer_id, str)))
    if len(customer_ids) > 1:
        raise AmbiguousExternalId(source, wanted, customer_ids)
    return customer_ids[0] if customer_ids else None


async def find_customer_by_external_id(cc: CareCloud, *, customer_source_id: str, external_id: str) -> Customer | None:
    """The customer whose source record carries ``external_id`` (then ``GET /customers/{id}``), or None.

    customer = await find_customer_by_external_id(cc, customer_source_id=eshop, external_id="ESHOP-1001")
    if customer is not None:
        print(customer.customer_id, customer.personal_information.email)
    """
    customer_id = await find_customer_id_by_external_id(
        cc, customer_source_id=customer_source_id, external_id=external_id
    )
    if customer_id is None:
        return None
    answer = await cc.call(get_customer.call, customer_id)
    return answered(answer.data, "GET /customers/{customer_id}", "data")


async def sync_customer(cc: CareCloud, record: CustomerSyncRecord, *, customer_source_id: str) -> SyncOutcome:
    """Update the customer with ``record.external_id`` in ``customer_source_id``, or create it.

    Found: the named personal-information fields are set through a whole-record update
    (:func:`~carecloud_async.workflows.update_record`: every other field is kept, a concurrent
    change is a conflict, and no ``PUT`` is sent when nothing changes) and the property records
    whose value differs from CareCloud's (``GET /customers/{id}/property-records``) are written
    with ``POST /customers/{id}/property-records/batch``. A record that changes nothing sends no
    write at all and is ``"unchanged"``. Not found: a new customer with a customer source record
    carrying the external id, so the next sync finds it.

        outcome = await sync_customer(cc, CustomerSyncRecord("ESHOP-1001", {"email": "jane@example.com",
                                                                            "language_id": "en"}),
                                      customer_source_id=eshop)
        print(outcome.action, outcome.customer_id)
    """
    _check_record(record)
    properties = make_property_records(record.property_records)
    customer_id = await find_customer_id_by_external_id(
        cc, customer_source_id=customer_source_id, external_id=record.external_id
    )
    if customer_id is None:
        created = await sign_up_customer(
            cc,
            personal_information=record.personal_information,
            customer_source_id=customer_source_id,
            external_id=record.external_id,
            property_records=properties,
        )
        return SyncOutcome(record.external_id, created.customer_id, "created")

    changes = {f"personal_information.{name}": value for name, value in record.personal_information.items()}
    update = await update_record(cc, "/customers/{customer_id}", customer_id, changes=changes)
    changed = list(update.changed)
    if properties:
        current = await _property_values(cc, customer_id)
        stale = [p for p in properties if not _same_value(current.get(p.property_id, _MISSING), p.to_dict())]
        if stale:
            await _write_properties(cc, customer_id, stale)
            changed.extend(f"property_records.{p.property_id}" for p in stale)
    return SyncOutcome(record.external_id, customer_id, "updated" if changed else "unchanged", tuple(changed))


async def sync_customers(
    cc: CareCloud,
    records: Iterable[CustomerSyncRecord] | AsyncIterable[CustomerSyncRecord],
    *,
    customer_source_id: str,
    concurrency: int = 4,
) -> SyncReport:
    """:func:`sync_customer` for every record of ``records`` (a list, generator or async
    iterable, read lazily), ``concurrency`` at a time. A record that fails (bad input, a
    server refusal, a conflict) is reported in ``failed`` and the others go on; an error raised
    by ``records`` itself stops every worker and is raised.

        report = await sync_customers(cc, records, customer_source_id=eshop, concurrency=4)
        for failure in report.failed:
            log.warning("%s: %s", failure.external_id, failure.error)
    """
    require_text(customer_source_id, "customer_source_id")
    require_whole(concurrency, "concurrency", minimum=1)
    if concurrency > 32:
        raise RequestValidationError("concurrency must be at most 32 (each worker holds a connection)")
    if not isinstance(records, (Iterable, AsyncIterable)) or isinstance(records, (str, bytes, Mapping)):
        raise RequestValidationError("records must be an iterable or async iterable of CustomerSyncRecord")
    source = _aiter(records)
    # One lock per external id being synced (with its number of users), dropped when unused: the
    # same customer twice is synced in turn, and memory stays bounded however long the input.
    locks: dict[str, tuple[asyncio.Lock, int]] = {}
    done: dict[str, list[Any]] = {"created": [], "updated": [], "unchanged": [], "failed": []}
    pull = asyncio.Lock()

    async def worker() -> None:
        while True:
            async with pull:  # one reader of the source at a time: it is read lazily, in order
                try:
                    record = await anext(source)
                except StopAsyncIteration:
                    return
            key = getattr(record, "external_id", None)
            name = key if isinstance(key, str) else f"#{id(record)}"
            lock, users = locks.get(name, (asyncio.Lock(), 0))
            locks[name] = (lock, users + 1)
            try:
                async with lock:  # the same external id twice: the second sees what the first made
                    try:
                        outcome = await sync_customer(cc, record, customer_source_id=customer_source_id)
                    except CareCloudError as exc:
                        done["failed"].append(SyncFailure(key if isinstance(key, str) else repr(key), exc))
                    else:
                        done[outcome.action].append(outcome)
            finally:
                lock, users = locks[name]
                if users == 1:
                    del locks[name]
                else:
                    locks[name] = (lock, users - 1)

    workers = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        # The input failed (or the caller was cancelled): stop the other workers too, so no sync
        # goes on in the background after this call has ended.
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return SyncReport(tuple(done["created"]), tuple(done["updated"]), tuple(done["unchanged"]), tuple(done["failed"]))


def _check_record(record: object) -> None:
    if not isinstance(record, CustomerSyncRecord):
        raise RequestValidationError(f"records must be CustomerSyncRecord, not {type(record).__name__}")
    require_text(record.external_id, "external_id")
    if not isinstance(record.personal_information, Mapping):
        raise RequestValidationError("personal_information must be a mapping of PersonalInformation fields")
    unknown = sorted(set(record.personal_information) - _PERSONAL_FIELDS)
    if unknown:
        raise UnknownField(f"personal_information.{unknown[0]}", "PersonalInformation", tuple(_PERSONAL_FIELDS))


_MISSING = object()


async def _property_values(cc: CareCloud, customer_id: str) -> dict[str, Any]:
    records: list[PropertyRecord] = await cc.paginate(
        get_sub_customer_properties, customer_id=customer_id, item_type=PropertyRecord, max_items=10_000
    ).collect()
    values: dict[str, Any] = {}
    for record in records:
        data = record.to_dict()
        if "property_value" in data:
            values[record.property_id] = data["property_value"]
    return values


def _same_value(current: Any, wanted: Mapping[str, Any]) -> bool:
    """Whether CareCloud's value is the one to write. Enum and multiselect values are read as
    lists of items (``{"id": ..., "name": ...}``) and may be written as such or as their ids."""
    if current is _MISSING or "property_value" not in wanted:
        return False
    return bool(_comparable(current) == _comparable(wanted["property_value"]))


def _comparable(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(str(item["id"]) if isinstance(item, Mapping) and "id" in item else str(item) for item in value)
    if isinstance(value, bool):
        return ("bool", value)  # True is not 1 here
    return value


async def _write_properties(cc: CareCloud, customer_id: str, properties: list[PropertyRecord]) -> None:
    body = PostSubCustomerPropertiesBatchBody(property_records=properties)
    await cc.call(post_sub_customer_properties_batch.call, customer_id, body=body)


async def _aiter(records: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(records, AsyncIterable):
        async for record in records:
            yield record
    else:
        for record in records:
            yield record
