"""POS checkout: recommend the best rewards, accept the payment, send the purchase.

The bill is shared by the three steps. Step by step with a :class:`Checkout`:

    checkout = Checkout(cc, store_id=store_id, cashdesk_number=1, bill=bill, card_number="1000000000016")
    rewards = await checkout.recommend_best_rewards()          # shown to the cashier / customer
    accepted = await checkout.accept_payment(["PTV138"])       # the codes they chose
    sent = await checkout.send_purchase(purchase_type_id=purchase_type_id)
    print(sent.purchase_id)

or in one call, with a callback that chooses the reward codes (plain or ``async``):

    result = await checkout(cc, store_id=store_id, cashdesk_number=1, bill=bill, customer_id=customer_id,
                            purchase_type_id=purchase_type_id,
                            choose_rewards=lambda rewards: [r.code for r in rewards[:1] if r.code])

**Sending a purchase twice.** ``POST /purchases/actions/send-purchase`` is not idempotent, so the
retry layer does not resend it after a read timeout (unless ``retry_unsafe_on_read_timeout`` is
set), and a timeout leaves it unknown whether the purchase was recorded. ``bill.bill_id`` is the
natural key: it is unique per purchase, and the server refuses a second purchase with the same
``bill_id`` (400, reason ``already_exists`` on ``bill_id``). So the same :class:`Checkout` may send
its bill again: with ``resend_on_network_error=n`` :meth:`Checkout.send_purchase` does that by
itself, and calling it again after a :class:`~carecloud_async.NetworkError` does the same. The
duplicate refusal is taken as success only then, when this ``Checkout`` sent this very bill before
and lost the answer: the answer is ``SentPurchase(purchase_id=None, already_recorded=True)`` (the
server does not say which purchase it was; ``GET /purchases`` with ``external_purchase_id`` finds
it). A bill whose ``bill_id`` the server already holds, but which this ``Checkout`` never sent (a
reused ``bill_id``, or a bill sent by another process), raises :class:`DuplicateBill`: nothing was
recorded by this call. To resend across process restarts, use the durable
:class:`~carecloud_async.outbox.Outbox`.

**Money.** The final bill's ``total_price`` is the price after payment: the bill's ``total_price``
(the sum of its items) less what points (``price_of_credit_points``) and credit (``credit``) paid
in the accept-payment answer, as CareCloud's "Loyalty points payment", "Credit payment" and "Send
purchase" use cases ask; the amounts themselves go into the ``payment_recap``. Vouchers and
discounts go into the recap only (:func:`price_after_payment`).

**Cancelling.** CareCloud cancels a purchase with a second send-purchase of the same bill in which
``canceled`` is true, ``bill_id`` is new and unique and ``bill_number`` is the original ``bill_id``.
:meth:`Checkout.cancel_purchase` (or ``send_purchase(canceled=True)``) sends exactly that for the
purchase this ``Checkout`` recorded, and refuses when it recorded none;
:func:`~carecloud_async.workflows.purchases.cancelling_bill` builds it from any sent body.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from carecloud_api.api.purchases import (
    post_purchase_accept_payment,
    post_purchase_recommended_rewards,
    post_purchase_send,
)
from carecloud_api.models.accepted_payment import AcceptedPayment
from carecloud_api.models.bill import Bill
from carecloud_api.models.final_bill import FinalBill
from carecloud_api.models.final_bill_payment_type import FinalBillPaymentType
from carecloud_api.models.payment_recap import PaymentRecap
from carecloud_api.models.post_purchase_accept_payment_body import PostPurchaseAcceptPaymentBody
from carecloud_api.models.post_purchase_accept_payment_body_payment_type import (
    PostPurchaseAcceptPaymentBodyPaymentType,
)
from carecloud_api.models.post_purchase_recommended_rewards_body import PostPurchaseRecommendedRewardsBody
from carecloud_api.models.post_purchase_recommended_rewards_body_reward_list_type import (
    PostPurchaseRecommendedRewardsBodyRewardListType,
)
from carecloud_api.models.post_purchase_send_body import PostPurchaseSendBody
from carecloud_api.models.property_record import PropertyRecord
from carecloud_api.models.recommended_reward import RecommendedReward
from carecloud_api.types import UNSET, Unset

from .._client import CareCloud
from .._errors import APIError, BadRequest, CareCloudError, RequestValidationError, ServerError
from ._checks import answered, optional_text, require_choice, require_text, require_texts, require_whole
from ._natural_keys import names_natural_key, send_keyed
from .purchases import cancelling_bill

__all__ = [
    "Checkout",
    "CheckoutResult",
    "ChooseRewards",
    "DuplicateBill",
    "PaymentType",
    "RewardListType",
    "SentPurchase",
    "checkout",
    "final_bill",
    "payment_recap",
    "price_after_payment",
]

#: ``S`` standard (points, no overall discounts), ``A`` points and overall discounts, ``C`` paid
#: with credits, ``D`` overall discounts without points.
PaymentType = Literal["S", "A", "C", "D"]
#: ``F`` all manual rewards valid in the store, ``C`` those that apply to this bill, ``A`` all.
RewardListType = Literal["F", "C", "A"]
#: Chooses the reward codes to apply among the recommended rewards (may be ``async``).
ChooseRewards = Callable[[list[RecommendedReward]], Iterable[str] | Awaitable[Iterable[str]]]

_PAYMENT_TYPES: tuple[PaymentType, ...] = ("S", "A", "C", "D")
_REWARD_LIST_TYPES: tuple[RewardListType, ...] = ("F", "C", "A")
_SEND = "POST /purchases/actions/send-purchase"
_CENT = 0.01


@dataclass(frozen=True)
class SentPurchase:
    """The outcome of send-purchase. ``purchase_id`` is None exactly when ``already_recorded``: the
    server refused the bill as a duplicate of its ``bill_id`` after this checkout had sent that
    very bill and lost the answer, i.e. the earlier attempt landed. ``cancels`` is the original
    ``bill_id`` when this bill is a cancellation."""

    bill_id: str
    purchase_id: str | None
    already_recorded: bool = False
    cancels: str | None = None


class DuplicateBill(CareCloudError):
    """The server already holds a purchase with this ``bill_id``, but this checkout never sent
    that bill (a reused ``bill_id``, or a bill sent by another process): nothing was recorded by
    this call, and it is not reported as a success. ``bill_id`` is the refused id.

        try:
            sent = await steps.send_purchase(purchase_type_id=purchase_type_id)
        except DuplicateBill as exc:
            ...   # look it up: GET /purchases?external_purchase_id=exc.bill_id
    """

    def __init__(self, bill_id: str):
        super().__init__(
            f"CareCloud already has a purchase with bill_id {bill_id!r}, which this checkout did not send; "
            "nothing was recorded: use a new bill_id, or look the purchase up (GET /purchases, "
            "external_purchase_id) if another process sent this bill"
        )
        self.bill_id = bill_id


@dataclass(frozen=True)
class CheckoutResult:
    """What :func:`checkout` did: the recommendations, the codes chosen, the accepted payment
    (discounts, vouchers, points) and the purchase sent."""

    recommended: tuple[RecommendedReward, ...]
    chosen_codes: tuple[str, ...]
    accepted: AcceptedPayment
    purchase: SentPurchase


def payment_recap(accepted: AcceptedPayment) -> PaymentRecap:
    """The ``payment_recap`` of the final bill from the accept-payment answer: used points
    (``credit_points``), used credit (``credit`` → ``amount_for_credit``), the applied
    ``vouchers`` and the ``recommended_discounts``; what the answer left out stays out.

        recap = payment_recap(accepted)
    """
    return PaymentRecap(
        credit_points=accepted.credit_points,
        amount_for_credit=accepted.credit,
        vouchers=UNSET if isinstance(accepted.vouchers, Unset) else list(accepted.vouchers),
        recommended_discounts=(
            UNSET if isinstance(accepted.recommended_discounts, Unset) else list(accepted.recommended_discounts)
        ),
    )


def price_after_payment(bill: Bill, accepted: AcceptedPayment | None) -> float:
    """The ``total_price`` of the final bill: the bill's ``total_price`` less what points
    (``price_of_credit_points``) and credit (``credit``) paid in the accept-payment answer, to the
    cent. Vouchers and discounts only go into the payment recap. A payment larger than the bill
    raises :class:`~carecloud_async.RequestValidationError`.

        >>> from carecloud_api.models import AcceptedPayment, Bill
        >>> bill = Bill(bill_id="B-1", payment_time="2026-11-29 10:00:00", currency_id="CZK",
        ...             total_price=700.0, bill_items=[])
        >>> price_after_payment(bill, AcceptedPayment(price_of_credit_points=50.0, credit=120.0))
        530.0
    """
    price = float(bill.total_price)
    if accepted is None:
        return price
    paid = 0.0
    for value in (accepted.price_of_credit_points, accepted.credit):
        if not isinstance(value, Unset) and value is not None:
            paid += float(value)
    if paid - price > _CENT / 2:
        raise RequestValidationError(
            f"accept-payment says points and credit paid {paid:g}, more than the bill's total {price:g}; "
            "accept the payment again with lower max_points / max_credit"
        )
    return round(max(price - paid, 0.0), 2)


def final_bill(
    bill: Bill,
    *,
    purchase_type_id: str,
    payment_type: PaymentType,
    accepted: AcceptedPayment | None = None,
    canceled: bool = False,
    fiscal: bool | None = None,
    property_records: Sequence[PropertyRecord] | None = None,
    total_price: float | None = None,
) -> FinalBill:
    """The send-purchase bill: ``bill`` as sent to the earlier steps, plus the purchase type,
    payment type and, after accept-payment, its :func:`payment_recap`. Its ``total_price`` is the
    price after payment (:func:`price_after_payment`: less what points and credit paid); a
    ``total_price`` given must be that price (to the cent), else
    :class:`~carecloud_async.RequestValidationError`.

    ``canceled=True`` is for a cancelling bill only: ``bill.bill_number`` must then name the
    original ``bill_id`` and ``bill.bill_id`` be a new one (build it with
    :func:`~carecloud_async.workflows.purchases.cancelling_bill` instead).

        final = final_bill(bill, purchase_type_id=purchase_type_id, payment_type="S", accepted=accepted)
    """
    if canceled and (not isinstance(bill.bill_number, str) or bill.bill_number in ("", bill.bill_id)):
        raise RequestValidationError(
            "a cancelling bill needs a new bill_id and bill_number = the original bill_id; build it with "
            "workflows.purchases.cancelling_bill(original) (or Checkout.cancel_purchase)"
        )
    price = price_after_payment(bill, accepted)
    if total_price is not None:
        if isinstance(total_price, bool) or not isinstance(total_price, (int, float)):
            raise RequestValidationError(f"total_price must be a number, not {total_price!r}")
        if abs(total_price - price) > _CENT / 2:
            raise RequestValidationError(
                f"total_price {total_price:g} is not the price after payment {price:g} (the bill's "
                f"{float(bill.total_price):g} less what points and credit paid); leave total_price out"
            )
    final = FinalBill(
        purchase_type_id=require_text(purchase_type_id, "purchase_type_id"),
        canceled=canceled,
        payment_type=FinalBillPaymentType(require_choice(payment_type, _PAYMENT_TYPES, "payment_type")),
        bill_id=bill.bill_id,
        payment_time=bill.payment_time,
        currency_id=bill.currency_id,
        total_price=price,
        bill_items=list(bill.bill_items),
        fiscal=UNSET if fiscal is None else fiscal,
        payment_recap=UNSET if accepted is None else payment_recap(accepted),
        bill_number=bill.bill_number,
        created_by=bill.created_by,
        property_records=UNSET if property_records is None else list(property_records),
    )
    final.unknown_fields = dict(bill.unknown_fields)
    return final


class Checkout:
    """One bill through the POS checkout steps (Enterprise or Customer API).

    ``customer_id`` or ``card_number`` identify the customer (both may be left out for an anonymous
    purchase). :attr:`recommended` and :attr:`accepted` keep the answers of the steps;
    :meth:`send_purchase` builds the final bill's ``payment_recap`` from :attr:`accepted`.

        checkout = Checkout(cc, store_id=store_id, cashdesk_number=1, bill=bill, customer_id=customer_id)
        rewards = await checkout.recommend_best_rewards()
        await checkout.accept_payment([rewards[0].code])
        sent = await checkout.send_purchase(purchase_type_id=purchase_type_id)
    """

    def __init__(
        self,
        cc: CareCloud,
        *,
        store_id: str,
        cashdesk_number: int,
        bill: Bill,
        customer_id: str | None = None,
        card_number: str | None = None,
        payment_type: PaymentType = "S",
    ):
        if not isinstance(bill, Bill):
            raise RequestValidationError("bill must be a carecloud_api.models.Bill")
        require_text(bill.bill_id, "bill.bill_id")
        require_text(bill.currency_id, "bill.currency_id")
        require_text(bill.payment_time, "bill.payment_time")
        if not bill.bill_items:
            raise RequestValidationError("bill.bill_items must not be empty")
        self.cc = cc
        self.store_id = require_text(store_id, "store_id")
        self.cashdesk_number = require_whole(cashdesk_number, "cashdesk_number")
        self.bill = bill
        self.customer_id = optional_text(customer_id, "customer_id")
        self.card_number = optional_text(card_number, "card_number")
        self.payment_type: PaymentType = require_choice(payment_type, _PAYMENT_TYPES, "payment_type")
        self.recommended: list[RecommendedReward] = []
        self.accepted: AcceptedPayment | None = None
        # Bodies sent whose outcome is success or unknown (a lost answer), by bill_id: only for
        # those is a duplicate refusal the earlier attempt landing.
        self._attempts: dict[str, dict[str, object]] = {}
        self._sale: PostPurchaseSendBody | None = None  # the purchase recorded, for the cancel
        self._cancel: SentPurchase | None = None

    def __repr__(self) -> str:
        accepted = self.accepted is not None
        return f"Checkout(bill_id={self.bill.bill_id!r}, store_id={self.store_id!r}, accepted={accepted})"

    async def recommend_best_rewards(self, *, reward_list_type: RewardListType = "C") -> list[RecommendedReward]:
        """The rewards and vouchers the customer can use on this bill
        (``POST /purchases/actions/recommended-best-rewards``); kept in :attr:`recommended`.

            rewards = await checkout.recommend_best_rewards(reward_list_type="F")
        """
        require_choice(reward_list_type, _REWARD_LIST_TYPES, "reward_list_type")
        body = PostPurchaseRecommendedRewardsBody(
            store_id=self.store_id,
            cashdesk_number=self.cashdesk_number,
            reward_list_type=PostPurchaseRecommendedRewardsBodyRewardListType(reward_list_type),
            bill=self.bill,
            card_number=self.card_number,
            customer_id=self.customer_id,
        )
        answer = await self.cc.call(post_purchase_recommended_rewards.call, body=body)
        rewards = (
            []
            if isinstance(answer.data, Unset) or isinstance(answer.data.recommended_best_rewards, Unset)
            else list(answer.data.recommended_best_rewards)
        )
        self.recommended = rewards
        return rewards

    async def accept_payment(
        self,
        benefit_codes: Iterable[str] = (),
        *,
        max_points: float | None = None,
        max_credit: float | None = None,
    ) -> AcceptedPayment:
        """Apply the chosen reward / voucher codes and compute discounts, points and credit
        (``POST /purchases/actions/accept-payment``); kept in :attr:`accepted`.

            accepted = await checkout.accept_payment(["PTV138"], max_points=100)
            for voucher in accepted.vouchers or []:
                print(voucher.code, voucher.discount_value)
        """
        codes = require_texts(benefit_codes, "benefit_codes")
        for name, value in (("max_points", max_points), ("max_credit", max_credit)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise RequestValidationError(f"{name} must be a number >= 0, not {value!r}")
        body = PostPurchaseAcceptPaymentBody(
            store_id=self.store_id,
            cashdesk_number=self.cashdesk_number,
            payment_type=PostPurchaseAcceptPaymentBodyPaymentType(self.payment_type),
            bill=self.bill,
            card_number=self.card_number,
            customer_id=self.customer_id,
            max_points=UNSET if max_points is None else max_points,
            max_credit=UNSET if max_credit is None else max_credit,
            benefit_codes=codes if codes else UNSET,
        )
        answer = await self.cc.call(post_purchase_accept_payment.call, body=body)
        self.accepted = answered(answer.data, "POST /purchases/actions/accept-payment", "data")
        return self.accepted

    def final_bill(
        self,
        *,
        purchase_type_id: str,
        canceled: bool = False,
        fiscal: bool | None = None,
        property_records: Sequence[PropertyRecord] | None = None,
        total_price: float | None = None,
    ) -> FinalBill:
        """The bill :meth:`send_purchase` sends (see :func:`final_bill`); with ``canceled=True``
        the cancelling bill of the purchase this checkout recorded (see :meth:`cancel_purchase`)."""
        if canceled:
            return self._cancelling_body(purchase_type_id, fiscal, property_records, total_price, None).bill
        return final_bill(
            self.bill,
            purchase_type_id=purchase_type_id,
            payment_type=self.payment_type,
            accepted=self.accepted,
            fiscal=fiscal,
            property_records=property_records,
            total_price=total_price,
        )

    async def send_purchase(
        self,
        *,
        purchase_type_id: str,
        canceled: bool = False,
        fiscal: bool | None = None,
        property_records: Sequence[PropertyRecord] | None = None,
        resend_on_network_error: int = 0,
        total_price: float | None = None,
    ) -> SentPurchase:
        """Send the closed bill (``POST /purchases/actions/send-purchase``) with the
        ``payment_recap`` of :meth:`accept_payment` (none if it was not called) and the price
        after payment (:func:`price_after_payment`; a ``total_price`` given must equal it).

        A 400 ``already_exists`` on ``bill_id`` after this checkout sent this very bill and lost
        the answer means the earlier attempt was recorded: the answer is then
        ``SentPurchase(purchase_id=None, already_recorded=True)``; for a bill this checkout did not
        send before it raises :class:`DuplicateBill`. With ``resend_on_network_error=n`` a network
        failure or timeout sends the same bill again, up to ``n`` times (safe thanks to the
        ``bill_id``); calling ``send_purchase`` again after a network error resends it too.
        ``canceled=True`` is :meth:`cancel_purchase` (the same ``purchase_type_id``, nothing else
        changed). See the module docs.

            sent = await checkout.send_purchase(purchase_type_id=purchase_type_id, resend_on_network_error=2)
        """
        require_whole(resend_on_network_error, "resend_on_network_error")
        if canceled:
            body = self._cancelling_body(purchase_type_id, fiscal, property_records, total_price, None)
            return await self._send_cancel(body, resend_on_network_error)
        body = PostPurchaseSendBody(
            store_id=self.store_id,
            cashdesk_number=self.cashdesk_number,
            bill=self.final_bill(
                purchase_type_id=purchase_type_id,
                fiscal=fiscal,
                property_records=property_records,
                total_price=total_price,
            ),
            card_number=self.card_number,
            customer_id=self.customer_id,
        )
        sent = await self._send(body, resend_on_network_error)
        self._sale = body
        return sent

    async def cancel_purchase(
        self, *, new_bill_id: str | None = None, resend_on_network_error: int = 0
    ) -> SentPurchase:
        """Cancel the purchase this checkout recorded with :meth:`send_purchase`: the same bill
        sent again with ``canceled`` true, a new ``bill_id`` (``new_bill_id``, by default ``"C"`` +
        the original's) and ``bill_number`` = the original ``bill_id``, as CareCloud's "Cancel
        purchase" use case says. The answer's ``cancels`` is the original ``bill_id``.

        Refused (:class:`~carecloud_async.RequestValidationError`, nothing sent) when this checkout
        recorded no purchase (send it first, or resend it after a network error; for a purchase
        sent elsewhere use :func:`~carecloud_async.workflows.purchases.cancelling_bill`), or when
        it was already cancelled under another ``bill_id``. Resends work as for
        :meth:`send_purchase`.

            sent = await steps.send_purchase(purchase_type_id=purchase_type_id)
            cancel = await steps.cancel_purchase()            # bill_id "C" + the original's
        """
        require_whole(resend_on_network_error, "resend_on_network_error")
        body = self._cancelling_body(None, None, None, None, new_bill_id)
        return await self._send_cancel(body, resend_on_network_error)

    def _cancelling_body(
        self,
        purchase_type_id: str | None,
        fiscal: bool | None,
        property_records: Sequence[PropertyRecord] | None,
        total_price: float | None,
        new_bill_id: str | None,
    ) -> PostPurchaseSendBody:
        if self._sale is None:
            raise RequestValidationError(
                f"bill {self.bill.bill_id!r} cannot be cancelled: this checkout has not recorded it (send it "
                "first, or resend it after a network error); for a purchase sent elsewhere use "
                "workflows.purchases.cancelling_bill(original)"
            )
        original = self._sale.bill
        if purchase_type_id is not None and purchase_type_id != original.purchase_type_id:
            raise RequestValidationError(
                f"a cancelling bill keeps the original's purchase_type_id {original.purchase_type_id!r}, "
                f"not {purchase_type_id!r}"
            )
        if fiscal is not None or property_records is not None or total_price is not None:
            raise RequestValidationError(
                "a cancelling bill repeats the original bill: leave fiscal, property_records and total_price out"
            )
        body = cancelling_bill(self._sale, new_bill_id=new_bill_id)
        if self._cancel is not None and self._cancel.bill_id != body.bill.bill_id:
            raise RequestValidationError(
                f"bill {original.bill_id!r} was already cancelled by bill {self._cancel.bill_id!r}"
            )
        return body

    async def _send_cancel(self, body: PostPurchaseSendBody, resend_on_network_error: int) -> SentPurchase:
        sent = await self._send(body, resend_on_network_error)
        self._cancel = sent
        return sent

    async def _send(self, body: PostPurchaseSendBody, resend_on_network_error: int) -> SentPurchase:
        bill_id = body.bill.bill_id
        content = body.to_dict()
        earlier = self._attempts.get(bill_id)
        if earlier is not None and earlier != content:
            raise RequestValidationError(
                f"this checkout already sent bill {bill_id!r} with other content (its outcome is success or "
                "unknown); a bill_id names one bill: resend it unchanged, or use a new bill_id"
            )
        self._attempts[bill_id] = content

        async def send() -> str:
            answer = await self.cc.call(post_purchase_send.call, body=body)
            return answered(answered(answer.data, _SEND, "data").purchase_id, _SEND, "purchase_id")

        try:
            purchase_id, landed_before = await send_keyed(
                send,
                key="bill_id",
                reasons=("already_exists",),
                resend_on_network_error=resend_on_network_error,
                attempted_before=earlier is not None,
            )
        except APIError as exc:
            # A refusal (4xx) of a first attempt: nothing was recorded, and a corrected bill may
            # reuse the id. After an earlier attempt whose answer was lost the outcome stays unknown.
            if earlier is None and not isinstance(exc, ServerError):
                del self._attempts[bill_id]
                if isinstance(exc, BadRequest) and names_natural_key(exc, key="bill_id", reasons=("already_exists",)):
                    raise DuplicateBill(bill_id) from exc
            raise
        cancels = original if body.bill.canceled and isinstance(original := body.bill.bill_number, str) else None
        return SentPurchase(bill_id=bill_id, purchase_id=purchase_id, already_recorded=landed_before, cancels=cancels)


async def checkout(
    cc: CareCloud,
    *,
    store_id: str,
    cashdesk_number: int,
    bill: Bill,
    purchase_type_id: str,
    customer_id: str | None = None,
    card_number: str | None = None,
    payment_type: PaymentType = "S",
    reward_list_type: RewardListType = "C",
    choose_rewards: ChooseRewards | None = None,
    max_points: float | None = None,
    max_credit: float | None = None,
    fiscal: bool | None = None,
    resend_on_network_error: int = 0,
) -> CheckoutResult:
    """The whole POS checkout of ``bill``: recommend-best-rewards, ``choose_rewards`` picks codes
    among them, accept-payment with those codes, send-purchase with the resulting payment recap.

    Without ``choose_rewards`` no recommendation is asked and no code is applied (discounts and
    points the rules give still are). See :class:`Checkout` for the steps and the module docs for
    ``resend_on_network_error`` and ``already_recorded``.

        async def ask_cashier(rewards: list[RecommendedReward]) -> list[str]:
            return await pos_screen.pick([r.code for r in rewards if r.code])

        result = await checkout(cc, store_id=store_id, cashdesk_number=1, bill=bill,
                                purchase_type_id=purchase_type_id, card_number=card_number,
                                choose_rewards=ask_cashier)
        print(result.purchase.purchase_id, result.accepted.credit_points_of_this_transaction)
    """
    require_text(purchase_type_id, "purchase_type_id")
    require_whole(resend_on_network_error, "resend_on_network_error")
    steps = Checkout(
        cc,
        store_id=store_id,
        cashdesk_number=cashdesk_number,
        bill=bill,
        customer_id=customer_id,
        card_number=card_number,
        payment_type=payment_type,
    )
    codes: list[str] = []
    if choose_rewards is not None:
        rewards = await steps.recommend_best_rewards(reward_list_type=reward_list_type)
        chosen = choose_rewards(list(rewards))
        codes = require_texts(await chosen if inspect.isawaitable(chosen) else chosen, "chosen reward codes")
    accepted = await steps.accept_payment(codes, max_points=max_points, max_credit=max_credit)
    sent = await steps.send_purchase(
        purchase_type_id=purchase_type_id, fiscal=fiscal, resend_on_network_error=resend_on_network_error
    )
    return CheckoutResult(
        recommended=tuple(steps.recommended), chosen_codes=tuple(codes), accepted=accepted, purchase=sent
    )
