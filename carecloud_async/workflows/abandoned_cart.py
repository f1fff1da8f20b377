"""Abandoned cart: a marketing-automation event that starts the reminder scenario (both APIs).

CareCloud describes two ways, and there is a helper for each:

1. your e-shop decides the cart is abandoned (say, no change for an hour) and sends one event:
   :func:`send_abandoned_cart_event`;
2. the e-shop cannot decide, so it sends an event on every cart change and the scenario in
   CareCloud decides (it waits, and stops when a later event or a purchase comes):
   :func:`send_cart_updated_event`.

    cart = Cart("cart-77", revision=5, currency_id="CZK",
                items=[CartItem("8594000000017", "Riesling 2023", quantity=2, unit_price=239.0)],
                url="https://shop.example.com/cart/77")
    await send_abandoned_cart_event(cc, cart, event_type_id=abandoned_type_id, customer_email="jane@example.com")
    await send_cart_updated_event(cc, cart, event_type_id=updated_type_id, customer_id=customer_id)

The cart travels in the event's ``data`` (``cart_id``, ``revision``, ``items``, ``total``,
``currency_id``, ``url``), so the scenario and the message template can use it. The event's
``external_id`` is made from the cart id and its ``revision`` (a counter or timestamp you keep per
cart), so sending the same state twice records one event (see :func:`create_event`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from carecloud_api.models.property_record import PropertyRecord

from .._client import CareCloud
from .._errors import RequestValidationError
from ._checks import require_text
from .marketing import CreatedEvent, PropertyValue, create_event

__all__ = ["Cart", "CartItem", "cart_event_data", "send_abandoned_cart_event", "send_cart_updated_event"]


@dataclass(frozen=True)
class CartItem:
    """One line of a cart: the product's ``code`` (as in your product sync), its name, quantity
    and unit price (in the cart's currency)."""

    code: str
    name: str
    quantity: float = 1
    unit_price: float = 0.0


@dataclass(frozen=True)
class Cart:
    """A shopping cart as your e-shop has it. ``revision`` changes whenever the cart does (an
    update counter or the last change's timestamp): it keys the event."""

    cart_id: str
    revision: str | int
    items: Sequence[CartItem]
    currency_id: str
    url: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return round(sum(item.quantity * item.unit_price for item in self.items), 2)


def cart_event_data(cart: Cart) -> dict[str, Any]:
    """The event ``data`` for ``cart`` (checked: ids present, quantities > 0, prices >= 0).

    >>> cart_event_data(Cart("c1", 3, [CartItem("P1", "Wine", 2, 10.5)], "CZK"))["total"]
    21.0
    """
    if not isinstance(cart, Cart):
        raise RequestValidationError(f"cart must be a Cart, not {type(cart).__name__}")
    require_text(cart.cart_id, "cart.cart_id")
    require_text(cart.currency_id, "cart.currency_id")
    if isinstance(cart.revision, bool) or not isinstance(cart.revision, (str, int)) or str(cart.revision).strip() == "":
        raise RequestValidationError("cart.revision must be a counter or timestamp that changes with the cart")
    items = []
    for index, item in enumerate(cart.items):
        if not isinstance(item, CartItem):
            raise RequestValidationError(f"cart.items[{index}] must be a CartItem, not {type(item).__name__}")
        require_text(item.code, f"cart.items[{index}].code")
        if not item.quantity > 0 or not item.unit_price >= 0:
            raise RequestValidationError(
                f"cart.items[{index}] needs a quantity > 0 and a unit_price >= 0 "
                f"(it has {item.quantity} and {item.unit_price})"
            )
        items.append({"code": item.code, "name": item.name, "quantity": item.quantity, "unit_price": item.unit_price})
    data: dict[str, Any] = {
        **dict(cart.extra),
        "cart_id": cart.cart_id,
        "revision": str(cart.revision),
        "items": items,
        "total": cart.total,
        "currency_id": cart.currency_id,
    }
    if cart.url is not None:
        data["url"] = require_text(cart.url, "cart.url")
    return data


async def send_abandoned_cart_event(
    cc: CareCloud,
    cart: Cart,
    *,
    event_type_id: str,
    customer_id: str | None = None,
    customer_email: str | None = None,
    customer_phone: str | None = None,
    abandoned_at: str | datetime | None = None,
    property_records: Mapping[str, PropertyValue] | Iterable[PropertyRecord] = (),
    resend_on_network_error: int = 0,
) -> CreatedEvent:
    """Variant 1: your application has decided ``cart`` is abandoned; one event
    (``POST /events``, external id ``abandoned-cart:<cart_id>:<revision>``) starts the reminder.
    An empty cart is refused (there is nothing to remind of). The customer is given by exactly
    one of ``customer_id``, ``customer_email``, ``customer_phone``.

        created = await send_abandoned_cart_event(cc, cart, event_type_id=type_id, customer_email="jane@example.com")
    """
    data = cart_event_data(cart)
    if not data["items"]:
        raise RequestValidationError("an abandoned cart must have items; an empty cart needs no reminder")
    return await create_event(
        cc,
        event_type_id=event_type_id,
        external_id=f"abandoned-cart:{cart.cart_id}:{cart.revision}",
        customer_id=customer_id,
        customer_email=customer_email,
        customer_phone=customer_phone,
        data={**data, "variant": "abandoned"},
        created_at=abandoned_at,
        property_records=property_records,
        resend_on_network_error=resend_on_network_error,
    )


async def send_cart_updated_event(
    cc: CareCloud,
    cart: Cart,
    *,
    event_type_id: str,
    customer_id: str | None = None,
    customer_email: str | None = None,
    customer_phone: str | None = None,
    updated_at: str | datetime | None = None,
    property_records: Mapping[str, PropertyValue] | Iterable[PropertyRecord] = (),
    resend_on_network_error: int = 0,
) -> CreatedEvent:
    """Variant 2: send every change of ``cart`` (``POST /events``, external id
    ``cart-updated:<cart_id>:<revision>``); the scenario in CareCloud decides when the cart counts
    as abandoned. An emptied cart is sent too (``items`` empty, ``total`` 0): it tells the scenario
    to stop.

        await send_cart_updated_event(cc, cart, event_type_id=type_id, customer_id=customer_id)
    """
    data = cart_event_data(cart)
    return await create_event(
        cc,
        event_type_id=event_type_id,
        external_id=f"cart-updated:{cart.cart_id}:{cart.revision}",
        customer_id=customer_id,
        customer_email=customer_email,
        customer_phone=customer_phone,
        data={**data, "variant": "updated"},
        created_at=updated_at,
        property_records=property_records,
        resend_on_network_error=resend_on_network_error,
    )
