"""Catalog sync: product brands, product groups and products through the batch endpoints.

The batch endpoints (``POST /product-brands/batch``, ``/product-groups/batch``, ``/products/batch``)
take at most 1,000 items and answer 204. These helpers take any iterable or async iterable —
a generator over a whole catalog is fine — and send it in batches of at most ``batch_size``,
built lazily, so at most ``concurrency`` batches are in memory at once.

    summary = await sync_products(cc, (to_product(row) for row in read_erp_rows()))
    print(summary.batches_sent, summary.items_sent)

``error_processing`` applies per batch: ``"all_or_nothing"`` (the API's 1, its default) rolls
back the batch at the first bad item, ``"keep_valid"`` (2) stores the valid items and refuses
the rest. Batches sent before a failure stay stored: :class:`BatchSyncError` says which.
Items are generated models (``ProductBrand``, ``ProductGroup``, ``ProductBatch``) or mappings
in the API's JSON shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from types import ModuleType
from typing import Any, Literal, TypeVar

from carecloud_api.api.product_brands import post_bulk_product_brands
from carecloud_api.api.product_groups import post_bulk_product_groups
from carecloud_api.api.products import post_bulk_products
from carecloud_api.models.error_processing import ErrorProcessing
from carecloud_api.models.post_bulk_product_brands_body import PostBulkProductBrandsBody
from carecloud_api.models.post_bulk_product_groups_body import PostBulkProductGroupsBody
from carecloud_api.models.post_bulk_products_body import PostBulkProductsBody
from carecloud_api.models.product_batch import ProductBatch
from carecloud_api.models.product_brand import ProductBrand
from carecloud_api.models.product_group import ProductGroup

from .._client import CareCloud
from .._errors import CareCloudError, RequestValidationError
from .._operations import operation_of
from ._checks import require_choice, require_whole

__all__ = [
    "MAX_BATCH_CONCURRENCY",
    "MAX_BATCH_SIZE",
    "BatchSummary",
    "BatchSyncError",
    "ErrorProcessingMode",
    "chunked",
    "sync_product_brands",
    "sync_product_groups",
    "sync_products",
]

#: The batch endpoints take at most this many items per request.
MAX_BATCH_SIZE = 1000
MAX_BATCH_CONCURRENCY = 8
#: ``all_or_nothing`` (API value 1) or ``keep_valid`` (2), per batch.
ErrorProcessingMode = Literal["all_or_nothing", "keep_valid"]
_MODES: dict[str, ErrorProcessing] = {"all_or_nothing": ErrorProcessing(1), "keep_valid": ErrorProcessing(2)}


M = TypeVar("M")
T = TypeVar("T")


@dataclass(frozen=True)
class BatchSummary:
    """What a sync sent: the number of batches and of items (all answered 204)."""

    batches_sent: int
    items_sent: int


class BatchSyncError(CareCloudError):
    """A sync stopped: a batch was refused (``__cause__``: the ``APIError``) or an item was
    invalid (``__cause__``: a ``RequestValidationError``).

    ``batch_index`` and ``first_item_index`` (0-based, over the whole input) locate the failed
    batch; ``summary`` counts the batches stored before the sync stopped, and ``stored_batches``
    lists their indexes (with ``concurrency > 1`` a later batch may have been stored although an
    earlier one failed). Resume from ``first_item_index`` of the failed batch, skipping the
    stored ones.
    """

    def __init__(
        self,
        message: str,
        *,
        batch_index: int,
        first_item_index: int,
        stored_batches: tuple[int, ...],
        items_stored: int,
    ):
        super().__init__(message)
        self.batch_index = batch_index
        self.first_item_index = first_item_index
        self.stored_batches = stored_batches
        self.summary = BatchSummary(batches_sent=len(stored_batches), items_sent=items_stored)


async def chunked(items: Iterable[T] | AsyncIterable[T], size: int) -> AsyncIterator[list[T]]:
    """Lists of at most ``size`` items from ``items``, read lazily (one list at a time).

    async for batch in chunked(range(2500), 1000):
        print(len(batch))   # 1000, 1000, 500
    """
    require_whole(size, "size", minimum=1)
    if isinstance(items, AsyncIterable):
        batch: list[T] = []
        async for item in items:
            batch.append(item)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch
        return
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


async def sync_product_brands(
    cc: CareCloud,
    brands: Iterable[ProductBrand | Mapping[str, Any]] | AsyncIterable[ProductBrand | Mapping[str, Any]],
    *,
    error_processing: ErrorProcessingMode = "all_or_nothing",
    batch_size: int = MAX_BATCH_SIZE,
    concurrency: int = 1,
) -> BatchSummary:
    """Create or update product brands (``POST /product-brands/batch``, Enterprise API).

    await sync_product_brands(cc, [ProductBrand(name="Acme", external_id="b-1")])
    """
    mode = _check_options(cc, post_bulk_product_brands, error_processing, batch_size, concurrency)

    async def send(batch: list[ProductBrand]) -> None:
        body = PostBulkProductBrandsBody(product_brands=batch, error_processing=mode)
        await cc.call(post_bulk_product_brands.call, body=body)

    return await _sync(
        brands,
        model=ProductBrand,
        parse=ProductBrand.from_dict,
        send=send,
        batch_size=batch_size,
        concurrency=concurrency,
    )


async def sync_product_groups(
    cc: CareCloud,
    groups: Iterable[ProductGroup | Mapping[str, Any]] | AsyncIterable[ProductGroup | Mapping[str, Any]],
    *,
    error_processing: ErrorProcessingMode = "all_or_nothing",
    batch_size: int = MAX_BATCH_SIZE,
    concurrency: int = 1,
) -> BatchSummary:
    """Create or update product groups (``POST /product-groups/batch``, Enterprise API). Send
    parent groups before their children (keep ``concurrency=1`` if a child may come in a later
    batch than its parent).

        await sync_product_groups(cc, [ProductGroup(name="Accessories", external_id="953")])
    """
    mode = _check_options(cc, post_bulk_product_groups, error_processing, batch_size, concurrency)

    async def send(batch: list[ProductGroup]) -> None:
        body = PostBulkProductGroupsBody(product_groups=batch, error_processing=mode)
        await cc.call(post_bulk_product_groups.call, body=body)

    return await _sync(
        groups,
        model=ProductGroup,
        parse=ProductGroup.from_dict,
        send=send,
        batch_size=batch_size,
        concurrency=concurrency,
    )


async def sync_products(
    cc: CareCloud,
    products: Iterable[ProductBatch | Mapping[str, Any]] | AsyncIterable[ProductBatch | Mapping[str, Any]],
    *,
    error_processing: ErrorProcessingMode = "all_or_nothing",
    batch_size: int = MAX_BATCH_SIZE,
    concurrency: int = 1,
) -> BatchSummary:
    """Create or update products (``POST /products/batch``, Enterprise API). An existing product
    is updated; fields left out keep their values.

        await sync_products(cc, ({"name": row.name, "plu_ids": [{"list_code": "GLOBAL", "code": row.sku}]}
                                 for row in rows), concurrency=4)
    """
    mode = _check_options(cc, post_bulk_products, error_processing, batch_size, concurrency)

    async def send(batch: list[ProductBatch]) -> None:
        await cc.call(post_bulk_products.call, body=PostBulkProductsBody(products=batch, error_processing=mode))

    return await _sync(
        products,
        model=ProductBatch,
        parse=ProductBatch.from_dict,
        send=send,
        batch_size=batch_size,
        concurrency=concurrency,
    )


def _check_options(
    cc: CareCloud, endpoint: ModuleType, error_processing: str, batch_size: int, concurrency: int
) -> ErrorProcessing:
    # Refuse the wrong API up front, not as a failure of the first batch.
    cc.check_operation(operation_of(endpoint)[1])
    require_choice(error_processing, tuple(_MODES), "error_processing")
    require_whole(batch_size, "batch_size", minimum=1)
    if batch_size > MAX_BATCH_SIZE:
        raise RequestValidationError(f"batch_size must be at most {MAX_BATCH_SIZE} (the API's limit), not {batch_size}")
    require_whole(concurrency, "concurrency", minimum=1)
    if concurrency > MAX_BATCH_CONCURRENCY:
        raise RequestValidationError(f"concurrency must be at most {MAX_BATCH_CONCURRENCY}, not {concurrency}")
    return _MODES[error_processing]


def _as_models(batch: list[Any], model: type[M], parse: Callable[[Mapping[str, Any]], M], first_index: int) -> list[M]:
    models: list[M] = []
    for index, item in enumerate(batch, start=first_index):
        if isinstance(item, model):
            models.append(item)
        elif isinstance(item, Mapping):
            try:
                models.append(parse(item))
            except (KeyError, TypeError, ValueError) as exc:
                # a ResponseParseError (also a KeyError for a missing field) names the field itself
                problem = (
                    f"missing {exc}" if isinstance(exc, KeyError) and not isinstance(exc, ValueError) else str(exc)
                )
                raise RequestValidationError(f"item {index} is not a valid {model.__name__}: {problem}") from None
        else:
            kind = type(item).__name__
            raise RequestValidationError(f"item {index} must be a {model.__name__} or a mapping, not {kind}")
    return models


class _BatchRun:
    """One sync in progress: what was stored, and the first failure (lowest batch index)."""

    def __init__(self) -> None:
        self.stored: list[int] = []
        self.items = 0
        self.failure: tuple[int, int, CareCloudError] | None = None

    def succeeded(self, batch_index: int, size: int) -> None:
        self.stored.append(batch_index)
        self.items += size

    def failed(self, batch_index: int, first_item: int, exc: CareCloudError) -> None:
        if self.failure is None or batch_index < self.failure[0]:
            self.failure = (batch_index, first_item, exc)

    def outcome(self) -> BatchSummary:
        if self.failure is None:
            return BatchSummary(batches_sent=len(self.stored), items_sent=self.items)
        batch_index, first_item, exc = self.failure
        what = "an item is invalid" if isinstance(exc, RequestValidationError) else "the server refused it"
        raise BatchSyncError(
            f"batch {batch_index} (from item {first_item}) failed, {what}: {exc}; "
            f"{len(self.stored)} batches ({self.items} items) were stored",
            batch_index=batch_index,
            first_item_index=first_item,
            stored_batches=tuple(sorted(self.stored)),
            items_stored=self.items,
        ) from exc


async def _sync(
    items: Iterable[Any] | AsyncIterable[Any],
    *,
    model: type[M],
    parse: Callable[[Mapping[str, Any]], M],
    send: Callable[[list[M]], Awaitable[None]],
    batch_size: int,
    concurrency: int,
) -> BatchSummary:
    if isinstance(items, (str, bytes, Mapping)):
        raise RequestValidationError("items must be an iterable of items, not a single string or mapping")
    run = _BatchRun()
    in_flight: dict[asyncio.Task[None], tuple[int, int, int]] = {}  # task -> (batch, first item, size)

    def harvest(done: Iterable[asyncio.Task[None]]) -> None:
        for task in done:
            batch_index, first_item, size = in_flight.pop(task)
            exc = task.exception()
            if exc is None:
                run.succeeded(batch_index, size)
            elif isinstance(exc, CareCloudError):
                run.failed(batch_index, first_item, exc)
            else:
                raise exc

    batch_index = first_item = 0
    try:
        async for raw in chunked(items, batch_size):
            try:
                batch = _as_models(raw, model, parse, first_item)
            except RequestValidationError as exc:
                run.failed(batch_index, first_item, exc)
                break
            in_flight[asyncio.ensure_future(send(batch))] = (batch_index, first_item, len(batch))
            if len(in_flight) >= concurrency:
                done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                harvest(done)
                if run.failure is not None:
                    break
            batch_index += 1
            first_item += len(batch)
        if in_flight:
            # After a failure no new batch starts, but those already sent are seen through, so
            # that the summary says what was stored.
            done, _ = await asyncio.wait(in_flight)
            harvest(done)
    finally:
        for task in in_flight:
            task.cancel()
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)
    return run.outcome()
