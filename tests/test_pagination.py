"""The generic paginator: stop rules, max_items, concurrency (order and memory bound), validation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from carecloud_api._catalog import OPERATIONS
from carecloud_api.api.customers import get_customer, get_customers
from carecloud_api.api.stamper import get_stamper_stamps
from carecloud_api.models import Customer, Reward, StamperStamp

from carecloud_async import CareCloud, RequestValidationError, RetryPolicy
from carecloud_async._pagination import Paginator, item_type_of, page_parts, should_continue

PREFIX = "/webservice/rest-api/enterprise-interface/v1.0"


def customer(n: int) -> dict[str, Any]:
    return {"customer_id": f"c{n}", "personal_information": {"first_name": f"N{n}", "language_id": "en"}}


class ListServer:
    """A scripted list endpoint: serves `items` by count/offset; `total` may be a callable of the
    request number (to change total_items during a walk); records requests and concurrency."""

    def __init__(
        self,
        n: int,
        *,
        key: str = "customers",
        make: Callable[[int], dict[str, Any]] = customer,
        total: Callable[[int], int | None] | None = None,
        cap: int | None = None,
        delay: float = 0.0,
    ):
        self.items = [make(i) for i in range(n)]
        self.key = key
        self.total = total
        self.cap = cap
        self.delay = delay
        self.requests: list[tuple[int, int]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/users/actions/login"):
            return httpx.Response(200, json={"data": {"bearer_token": "t", "valid_to": "2099-01-01 00:00:00"}})
        count, offset = int(request.url.params["count"]), int(request.url.params["offset"])
        self.requests.append((offset, count))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        size = min(count, self.cap) if self.cap else count
        total = len(self.items) if self.total is None else self.total(len(self.requests))
        data: dict[str, Any] = {self.key: self.items[offset : offset + size]}
        if total is not None:
            data["total_items"] = total
        return httpx.Response(200, json={"data": data})


def client(server: ListServer) -> CareCloud:
    return CareCloud.enterprise(
        "demo.example.com",
        user_external_application_id="a",
        login="l",
        password="p",
        retry=RetryPolicy.disabled(),
        transport=httpx.MockTransport(server),
    )


async def test_items_come_typed_and_in_order_across_pages() -> None:
    server = ListServer(250)
    async with client(server) as cc:
        items = [c async for c in cc.paginate(get_customers, page_size=100, email="x@example.com")]
    assert [c.customer_id for c in items] == [f"c{i}" for i in range(250)]
    assert all(isinstance(c, Customer) for c in items)
    assert server.requests == [(0, 100), (100, 100), (200, 100)]  # stops at total_items, no empty probe


async def test_pages_report_offset_and_total() -> None:
    server = ListServer(5)
    async with client(server) as cc:
        pages = [p async for p in cc.paginate(get_customers, page_size=2).pages()]
    assert [(p.offset, len(p.items), p.total_items) for p in pages] == [(0, 2, 5), (2, 2, 5), (4, 1, 5)]


async def test_max_items_limits_what_is_requested_and_yielded() -> None:
    server = ListServer(1000)
    async with client(server) as cc:
        items = await cc.paginate(get_customers, page_size=100, max_items=150).collect()
    assert len(items) == 150
    assert server.requests == [(0, 100), (100, 50)]


async def test_empty_list_stops_after_one_request() -> None:
    server = ListServer(0)
    async with client(server) as cc:
        assert await cc.paginate(get_customers).collect() == []
    assert server.requests == [(0, 100)]


async def test_short_page_stops_when_total_items_is_absent() -> None:
    server = ListServer(130, total=lambda _: None)
    async with client(server) as cc:
        items = await cc.paginate(get_customers, page_size=100).collect()
    assert len(items) == 130
    assert server.requests == [(0, 100), (100, 100)]


async def test_a_server_capping_count_is_followed_to_total_items() -> None:
    server = ListServer(120, cap=50)
    async with client(server) as cc:
        items = await cc.paginate(get_customers, page_size=100).collect()
    assert len(items) == 120
    assert server.requests == [(0, 100), (50, 100), (100, 100)]


async def test_total_items_shrinking_during_the_walk_is_followed() -> None:
    server = ListServer(300, total=lambda n: 300 if n == 1 else 150)
    async with client(server) as cc:
        items = await cc.paginate(get_customers, page_size=100).collect()
    assert len(items) == 200  # the second page said 150: no third request
    assert server.requests == [(0, 100), (100, 100)]


async def test_total_items_growing_during_the_walk_is_followed() -> None:
    server = ListServer(300, total=lambda n: 150 if n == 1 else 300)
    async with client(server) as cc:
        items = await cc.paginate(get_customers, page_size=100).collect()
    assert len(items) == 300


@pytest.mark.parametrize("concurrency", [2, 4, 8])
async def test_concurrent_pages_keep_order_and_bound_pages_in_flight(concurrency: int) -> None:
    server = ListServer(2050, delay=0.01)
    async with client(server) as cc:
        items = [c.customer_id async for c in cc.paginate(get_customers, page_size=100, concurrency=concurrency)]
    assert items == [f"c{i}" for i in range(2050)]
    assert 1 < server.max_in_flight <= concurrency
    assert sorted(server.requests) == [(o, 100) for o in range(0, 2100, 100)]


async def test_concurrent_walk_with_capped_count_still_gets_everything_in_order() -> None:
    server = ListServer(400, cap=60)
    async with client(server) as cc:
        items = [c.customer_id async for c in cc.paginate(get_customers, page_size=100, concurrency=4)]
    assert items == [f"c{i}" for i in range(400)]


async def test_concurrent_walk_respects_max_items() -> None:
    server = ListServer(5000)
    async with client(server) as cc:
        items = await cc.paginate(get_customers, page_size=100, concurrency=8, max_items=730).collect()
    assert len(items) == 730
    assert sum(count for _, count in server.requests) == 730


async def test_breaking_out_early_cancels_pending_pages() -> None:
    server = ListServer(5000, delay=0.01)
    async with client(server) as cc:
        seen = 0
        async for _ in cc.paginate(get_customers, page_size=100, concurrency=4):
            seen += 1
            if seen == 150:
                break
        await asyncio.sleep(0.05)
    assert server.in_flight == 0
    assert len(server.requests) <= 2 + 4


async def test_a_list_key_that_is_a_python_builtin_is_found() -> None:
    from carecloud_api.api.credits_ import get_credits

    server = ListServer(
        2,
        key="credits",
        make=lambda i: {"credit_id": f"k{i}", "customer_id": "c", "credit_type_id": "t", "partner_id": "p"},
    )
    async with client(server) as cc:
        credits = await cc.paginate(get_credits).collect()
    assert [c.credit_id for c in credits] == ["k0", "k1"]


async def test_list_key_comes_from_the_schema_not_the_path() -> None:
    stamp = {"stamp_id": "s1"}
    server = ListServer(3, key="stamper_stamps", make=lambda i: {**stamp, "stamp_id": f"s{i}"})
    async with client(server) as cc:
        stamps = await cc.paginate(get_stamper_stamps).collect()
    assert [s.stamp_id for s in stamps] == ["s0", "s1", "s2"]
    assert all(isinstance(s, StamperStamp) for s in stamps)


async def test_invalid_use_fails_before_sending() -> None:
    server = ListServer(10)
    async with client(server) as cc:
        with pytest.raises(RequestValidationError, match="not a paginated list operation"):
            cc.paginate(get_customer)
        with pytest.raises(
            RequestValidationError, match=r"^GET /customers: page_size must be between 1 and 1000, not 0$"
        ):
            cc.paginate(get_customers, page_size=0)
        with pytest.raises(RequestValidationError, match=r"^GET /customers: concurrency must be between 1 and 32"):
            cc.paginate(get_customers, concurrency=0)
        with pytest.raises(RequestValidationError, match=r"^GET /customers: max_items must be 0 or more, not -1$"):
            cc.paginate(get_customers, max_items=-1)
        with pytest.raises(
            RequestValidationError, match=r"^GET /customers: count and offset are set by the paginator;"
        ):
            cc.paginate(get_customers, count=5, offset=1)
        with pytest.raises(
            RequestValidationError, match=r"^GET /customers: count is set by the paginator; use page_size"
        ):
            cc.paginate(get_customers, count=5)
        tree: Any = cc  # a caller without a type checker
        with pytest.raises(
            RequestValidationError, match=r"^GET /customers: offset is set by the paginator; use page_size"
        ):
            tree.customers.list(offset=5)
        with pytest.raises(RequestValidationError, match="unexpected keyword argument 'mail'") as refused:
            cc.paginate(get_customers, mail="x")
    assert server.requests == []
    # The filters a misspelt name is offered are the list's own: count and offset are the paginator's.
    assert "did you mean 'email'? Parameters are: sort_field, sort_direction, email, " in str(refused.value)
    assert "count" not in str(refused.value)
    assert "offset" not in str(refused.value)


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"page_size": "10"}, "page_size must be int, not str"),
        ({"page_size": 10.0}, "page_size must be int, not float"),
        ({"max_items": "50"}, "max_items must be int or None, not str"),
        ({"concurrency": True}, "concurrency must be int, not bool"),
        ({"start": "0"}, "start must be int, not str"),
    ],
)
async def test_a_wrongly_typed_paginator_keyword_is_a_validation_error(keywords: dict[str, Any], message: str) -> None:
    """Issue: cc.customers.list(page_size="10").first_page() raised a bare TypeError from a comparison."""
    server = ListServer(3)
    async with client(server) as cc:
        tree: Any = cc  # a caller without a type checker
        with pytest.raises(RequestValidationError, match=f"^GET /customers: {message}$"):
            await tree.customers.list(**keywords).first_page()
        with pytest.raises(RequestValidationError, match=f"^GET /customers: {message}$"):
            cc.paginate(get_customers, **keywords)
    assert server.requests == []


async def test_item_type_types_the_paginator_and_must_match_the_list() -> None:
    server = ListServer(3)
    async with client(server) as cc:
        typed: Paginator[Customer] = cc.paginate(get_customers, item_type=Customer, page_size=2)
        ids = [customer.customer_id async for customer in typed]
        assert ids == ["c0", "c1", "c2"]
        # The static half of this test is `make typecheck`: with item_type=object the items are
        # `object` to mypy, so the ignore below is needed; were paginate to return Paginator[Any],
        # mypy --strict would fail on an unused ignore.
        untyped = [c.customer_id async for c in cc.paginate(get_customers, item_type=object)]  # type: ignore[attr-defined]
        assert untyped == ids
        sent = len(server.requests)
        with pytest.raises(RequestValidationError, match=r"GET /customers lists Customer, not Reward"):
            cc.paginate(get_customers, item_type=Reward)
        assert len(server.requests) == sent  # refused before sending


def test_every_list_operation_declares_one_item_class() -> None:
    paginated = [op for op in OPERATIONS if op.paginated]
    found = {op.operation_id: item_type_of(op) for op in paginated}
    assert found["getCustomers"] is Customer
    assert found["getStamperStamps"] is StamperStamp
    assert all(isinstance(item, type) and hasattr(item, "from_dict") for item in found.values())
    with pytest.raises(RequestValidationError, match="not a list operation"):
        item_type_of(next(op for op in OPERATIONS if not op.paginated))


def test_every_paginated_operation_has_a_list_key_in_its_response_model() -> None:
    """All 111 list operations: the catalog's list key is an attribute of the generated data model."""
    import importlib
    import typing

    from carecloud_api import models

    names = {name: getattr(models, name) for name in models.__all__}
    paginated = [op for op in OPERATIONS if op.paginated]
    assert len(paginated) == 111
    for op in paginated:
        module = importlib.import_module(op.module)
        success = typing.get_type_hints(module.call, localns=names)["return"]
        data_type = typing.get_type_hints(success, localns=names)["data"]
        data_class = next(a for a in typing.get_args(data_type) if hasattr(a, "from_dict"))
        fields = typing.get_type_hints(data_class, localns=names)
        assert op.list_attr in fields, (op.path, op.list_key, op.list_attr)
        assert "total_items" in fields, op.path


def test_pure_stop_rule() -> None:
    assert should_continue(offset=100, received=100, requested=100, total_items=None, limit=None)
    assert not should_continue(offset=100, received=0, requested=100, total_items=500, limit=None)
    assert not should_continue(offset=100, received=100, requested=100, total_items=500, limit=100)
    assert should_continue(offset=50, received=50, requested=100, total_items=500, limit=None)


def test_page_parts_tolerates_missing_data() -> None:
    assert page_parts(SimpleNamespace(data=None), "x") == ([], None)
    assert page_parts(SimpleNamespace(data=SimpleNamespace(x=[1], total_items=True)), "x") == ([1], None)


# --------------------------------------------------------------------------- start (resume a walk)


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_start_resumes_the_walk_at_that_offset_without_requesting_what_is_before(concurrency: int) -> None:
    server = ListServer(250)
    async with client(server) as cc:
        walk = Paginator(cc, get_customers, page_size=100, start=130, concurrency=concurrency, item_type=Customer)
        items = await walk.collect()
    assert [c.customer_id for c in items] == [f"c{n}" for n in range(130, 250)]
    assert min(offset for offset, _ in server.requests) == 130


async def test_start_with_max_items_counts_from_the_start() -> None:
    server = ListServer(250)
    async with client(server) as cc:
        items = await Paginator(cc, get_customers, page_size=30, start=200, max_items=40, item_type=Customer).collect()
    assert [c.customer_id for c in items] == [f"c{n}" for n in range(200, 240)]
    assert server.requests == [(200, 30), (230, 10)]


async def test_start_past_the_end_yields_nothing_and_a_negative_start_is_refused() -> None:
    server = ListServer(20)
    async with client(server) as cc:
        assert await Paginator(cc, get_customers, start=20).collect() == []
        with pytest.raises(RequestValidationError, match="start must be 0 or more"):
            Paginator(cc, get_customers, start=-1)
