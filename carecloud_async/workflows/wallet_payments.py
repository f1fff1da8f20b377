"""Paying with loyalty points or credit, composed with the POS :class:`~carecloud_async.workflows.Checkout`.

Points (Enterprise API): read the balance (``GET /wallet/actions/points-overview``), refuse more
points than the customer has, accept the payment with ``max_points`` (the server says how many it
used and what they are worth), then send the purchase with the price less the points' value and
the points in the payment recap:

    steps = Checkout(cc, store_id=store_id, cashdesk_number=1, bill=bill, customer_id=customer_id)
    accepted = await apply_points(steps, 50)                  # PointsBalance checked first
    sent = await steps.send_purchase(purchase_type_id=purchase_type_id)   # total_price: price_after(steps)

or in one call: ``await pay_with_points(cc, store_id=..., cashdesk_number=1, bill=bill,
customer_id=customer_id, points=50, purchase_type_id=...)``.

Credit works the same with ``GET /wallet/actions/credits-overview``, payment type ``"C"`` and
``max_credit`` (:func:`apply_credit`, :func:`pay_with_credit`). The customer must be identified by
``customer_id`` (the wallet is read by it): find it first with
:func:`~carecloud_async.workflows.find_customer_by_card` or
:func:`~carecloud_async.workflows.find_customer_by_external_id`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from carecloud_api.api.wallet import get_wallet_credits, get_wallet_points
from carecloud_api.models.accepted_payment import AcceptedPayment
from carecloud_api.models.bill import Bill
from carecloud_api.types import UNSET, Unset

from .._client import CareCloud
from .._errors import RequestValidationError
from ._checks import answered, require_text, require_texts
from .checkout import Checkout, CheckoutResult, SentPurchase, price_after_payment

__all__ = [
    "CreditBalance",
    "InsufficientBalance",
    "PointsBalance",
    "apply_credit",
    "apply_points",
    "credit_balance",
    "pay_with_credit",
    "pay_with_points",
    "points_balance",
    "price_after",
]


class InsufficientBalance(RequestValidationError):
    """More points or credit asked for than the customer has (as the server just reported);
    nothing was sent to accept-payment. ``available`` is the balance: ask for at most that."""

    def __init__(self, kind: Literal["points", "credit"], requested: float, available: float):
        super().__init__(
            f"the customer has {available:g} {kind} available, not the {requested:g} asked for; "
            f"use at most {available:g} (or pay the rest another way)"
        )
        self.kind = kind
        self.requested = requested
        self.available = available


@dataclass(frozen=True)
class PointsBalance:
    """``GET /wallet/actions/points-overview``: points available now, and their money value per
    currency (only where the customer's status allows paying with points)."""

    customer_id: str
    available_points: float
    money_value: dict[str, float]


@dataclass(frozen=True)
class CreditBalance:
    """``GET /wallet/actions/credits-overview``: credit available now, in total and per currency."""

    customer_id: str
    available_credits: float
    by_currency: dict[str, float]

    def available_in(self, currency_id: str) -> float:
        """The credit available in ``currency_id`` (the total when the server splits nothing)."""
        if not self.by_currency:
            return self.available_credits
        return self.by_currency.get(currency_id, 0.0)


async def points_balance(cc: CareCloud, customer_id: str) -> PointsBalance:
    """The customer's points available now (``GET /wallet/actions/points-overview``).

    balance = await points_balance(cc, customer_id)
    print(balance.available_points, balance.money_value.get("CZK"))
    """
    target = require_text(customer_id, "customer_id")
    answer = await cc.call(get_wallet_points.call, customer_id=target)
    data = answered(answer.data, "GET /wallet/actions/points-overview", "data")
    available = answered(data.available_points, "GET /wallet/actions/points-overview", "available_points")
    values = {} if isinstance(data.available_points_money_value, Unset) else data.available_points_money_value
    money = {
        v.currency_id: float(v.value)
        for v in values
        if isinstance(v.currency_id, str) and not isinstance(v.value, Unset) and v.value is not None
    }
    return PointsBalance(target, float(available), money)


async def credit_balance(cc: CareCloud, customer_id: str, *, credit_type_ids: Iterable[str] = ()) -> CreditBalance:
    """The customer's credit available now (``GET /wallet/actions/credits-overview``), optionally
    of some credit types only.

        balance = await credit_balance(cc, customer_id)
        print(balance.available_in("CZK"))
    """
    target = require_text(customer_id, "customer_id")
    types = require_texts(credit_type_ids, "credit_type_ids")
    answer = await cc.call(get_wallet_credits.call, customer_id=target, credit_type_id=types if types else UNSET)
    data = answered(answer.data, "GET /wallet/actions/credits-overview", "data")
    available = answered(data.available_credits, "GET /wallet/actions/credits-overview", "available_credits")
    split = [] if isinstance(data.split_by_currency, Unset) else data.split_by_currency
    by_currency = {
        s.currency_id: float(s.available_credits)
        for s in split
        if isinstance(s.currency_id, str) and not isinstance(s.available_credits, Unset)
    }
    return CreditBalance(target, float(available), by_currency)


async def apply_points(checkout: Checkout, points: float, *, benefit_codes: Iterable[str] = ()) -> AcceptedPayment:
    """Accept the payment of ``checkout`` with up to ``points`` loyalty points, after checking the
    customer has them (:func:`points_balance`; :class:`InsufficientBalance` if not, before
    accept-payment). The answer's ``credit_points`` is what the server used and
    ``price_of_credit_points`` its money value (see :func:`price_after`).

        accepted = await apply_points(steps, 50, benefit_codes=["PTV138"])
    """
    customer_id = _customer_of(checkout, "points")
    requested = _amount(points, "points")
    balance = await points_balance(checkout.cc, customer_id)
    if requested > balance.available_points:
        raise InsufficientBalance("points", requested, balance.available_points)
    return await checkout.accept_payment(benefit_codes, max_points=requested)


async def apply_credit(checkout: Checkout, amount: float, *, benefit_codes: Iterable[str] = ()) -> AcceptedPayment:
    """Accept the payment of ``checkout`` (created with ``payment_type="C"``) with up to
    ``amount`` of credit, after checking the customer has that much in the bill's currency
    (:func:`credit_balance`; :class:`InsufficientBalance` if not). The answer's ``credit`` is what
    the server used.

        steps = Checkout(cc, store_id=store_id, cashdesk_number=1, bill=bill, customer_id=customer_id,
                         payment_type="C")
        accepted = await apply_credit(steps, 120.0)
    """
    customer_id = _customer_of(checkout, "credit")
    if checkout.payment_type != "C":
        raise RequestValidationError(
            f"a credit payment needs payment_type 'C'; this Checkout has {checkout.payment_type!r}: "
            "create it with Checkout(..., payment_type='C')"
        )
    requested = _amount(amount, "amount")
    balance = await credit_balance(checkout.cc, customer_id)
    available = balance.available_in(checkout.bill.currency_id)
    if requested > available:
        raise InsufficientBalance("credit", requested, available)
    return await checkout.accept_payment(benefit_codes, max_credit=requested)


def price_after(checkout: Checkout) -> float:
    """The bill's price less what the accepted payment covered with points
    (``price_of_credit_points``) and credit (``credit``): the ``total_price`` the final bill
    carries (:func:`~carecloud_async.workflows.price_after_payment`; ``send_purchase`` computes
    it by itself). The bill's own price when accept-payment was not called; a payment larger than
    the bill raises :class:`~carecloud_async.RequestValidationError`.

        print("left to pay in cash:", price_after(steps))
    """
    return price_after_payment(checkout.bill, checkout.accepted)


async def pay_with_points(
    cc: CareCloud,
    *,
    store_id: str,
    cashdesk_number: int,
    bill: Bill,
    customer_id: str,
    points: float,
    purchase_type_id: str,
    benefit_codes: Iterable[str] = (),
    payment_type: Literal["S", "A"] = "S",
    resend_on_network_error: int = 0,
) -> CheckoutResult:
    """The loyalty-points payment in one call: balance check, accept-payment with ``points``,
    then send-purchase with the price less the points' value and the points in the recap.

        result = await pay_with_points(cc, store_id=store_id, cashdesk_number=1, bill=bill,
                                       customer_id=customer_id, points=50, purchase_type_id=purchase_type_id)
        print(result.accepted.credit_points, result.purchase.purchase_id)
    """
    if payment_type not in ("S", "A"):
        raise RequestValidationError(f"a points payment uses payment type 'S' or 'A', not {payment_type!r}")
    steps = Checkout(
        cc,
        store_id=store_id,
        cashdesk_number=cashdesk_number,
        bill=bill,
        customer_id=customer_id,
        payment_type=payment_type,
    )
    codes = tuple(require_texts(benefit_codes, "benefit_codes"))
    accepted = await apply_points(steps, points, benefit_codes=codes)
    sent = await _send(steps, purchase_type_id, resend_on_network_error)
    return CheckoutResult((), codes, accepted, sent)


async def pay_with_credit(
    cc: CareCloud,
    *,
    store_id: str,
    cashdesk_number: int,
    bill: Bill,
    customer_id: str,
    amount: float,
    purchase_type_id: str,
    benefit_codes: Iterable[str] = (),
    resend_on_network_error: int = 0,
) -> CheckoutResult:
    """The credit payment in one call (payment type ``"C"``): balance check, accept-payment with
    ``amount``, then send-purchase with the price less the credit used and the credit in the recap.

        result = await pay_with_credit(cc, store_id=store_id, cashdesk_number=1, bill=bill,
                                       customer_id=customer_id, amount=120.0, purchase_type_id=purchase_type_id)
    """
    steps = Checkout(
        cc, store_id=store_id, cashdesk_number=cashdesk_number, bill=bill, customer_id=customer_id, payment_type="C"
    )
    codes = tuple(require_texts(benefit_codes, "benefit_codes"))
    accepted = await apply_credit(steps, amount, benefit_codes=codes)
    sent = await _send(steps, purchase_type_id, resend_on_network_error)
    return CheckoutResult((), codes, accepted, sent)


async def _send(steps: Checkout, purchase_type_id: str, resend_on_network_error: int) -> SentPurchase:
    return await steps.send_purchase(purchase_type_id=purchase_type_id, resend_on_network_error=resend_on_network_error)


def _customer_of(checkout: Checkout, kind: str) -> str:
    if not isinstance(checkout, Checkout):
        raise RequestValidationError(f"checkout must be a Checkout, not {type(checkout).__name__}")
    if not isinstance(checkout.customer_id, str):
        raise RequestValidationError(
            f"a {kind} payment needs the customer's id (the wallet is read by it): create the Checkout with "
            "customer_id=..., found e.g. with find_customer_by_card"
        )
    return checkout.customer_id


def _amount(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise RequestValidationError(f"{name} must be a number > 0, not {value!r}")
    return float(value)
