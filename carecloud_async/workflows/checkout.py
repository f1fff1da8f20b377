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
``bill_id`` (400, reason ``already_exists`` on ``bill_id``). So it is safe to send the same bill
again, and :meth:`Checkout.send_purchase` does that by itself with ``resend_on_network_error=n``.
A duplicate refusal is taken as success: the answer is then ``SentPurchase(purchase_id=None,
already_recorded=True)`` (the server does not say which purchase it was; ``GET /purchases`` with
``external_purchase_id`` finds it). Since a reused ``bill_id`` from a bug looks the same, check
``already_recorded`` where your bill ids could collide.
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
from .._errors import RequestValidationError
from ._checks import answered, optional_text, require_choice, require_text, require_texts, require_whole
from ._natural_keys import send_keyed

__all__ = [
    "Checkout",
    "CheckoutResult",
    "ChooseRewards",
    "PaymentType",
    "RewardListType",
    "SentPurchase",
    "checkout",
    "final_bill",
    "payment_recap",
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


@dataclass(frozen=True)
class SentPurchase:
    """The outcome of send-purchase. ``purchase_id`` is None exactly when ``already_recorded``: the
    server refused the bill as a duplicate of its ``bill_id``, i.e. an earlier attempt landed."""

    bill_id: str
    purchase_id: str | None
    already_recorded: bool = False


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
    payment type and, after accept-payment, its :func:`payment_recap`. ``total_price`` replaces
    the bill's (a points or credit payment sends the price less what they paid).

        final = final_bill(bill, purchase_type_id=purchase_type_id, payment_type="S", accepted=accepted)
    """
    final = FinalBill(
        purchase_type_id=require_text(purchase_type_id, "purchase_type_id"),
        canceled=canceled,
        payment_type=FinalBillPaymentType(require_choice(payment_type, _PAYMENT_TYPES, "payment_type")),
        bill_id=bill.bill_id,
        payment_time=bill.payment_time,
        currency_id=bill.currency_id,
        total_price=bill.total_price if total_price is None else total_price,
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
        """The bill :meth:`send_purchase` sends (see :func:`final_bill`)."""
        return final_bill(
            self.bill,
            purchase_type_id=purchase_type_id,
            payment_type=self.payment_type,
            accepted=self.accepted,
            canceled=canceled,
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
        ``payment_recap`` of :meth:`accept_payment` (none if it was not called).

        A 400 ``already_exists`` on ``bill_id`` means an earlier attempt was recorded: the answer
        is then ``SentPurchase(purchase_id=None, already_recorded=True)``. With
        ``resend_on_network_error=n`` a network failure or timeout sends the same bill again, up to
        ``n`` times (safe thanks to the ``bill_id``). See the module docs.

            sent = await checkout.send_purchase(purchase_type_id=purchase_type_id, resend_on_network_error=2)
        """
        require_whole(resend_on_network_error, "resend_on_network_error")
        body = PostPurchaseSendBody(
            store_id=self.store_id,
            cashdesk_number=self.cashdesk_number,
            bill=self.final_bill(
                purchase_type_id=purchase_type_id,
                canceled=canceled,
                fiscal=fiscal,
                property_records=property_records,
                total_price=total_price,
            ),
            card_number=self.card_number,
            customer_id=self.customer_id,
        )

        async def send() -> str:
            answer = await self.cc.call(post_purchase_send.call, body=body)
            return answered(answered(answer.data, _SEND, "data").purchase_id, _SEND, "purchase_id")

        purchase_id, landed_before = await send_keyed(
            send, key="bill_id", reasons=("already_exists",), resend_on_network_error=resend_on_network_error
        )
        return SentPurchase(bill_id=self.bill.bill_id, purchase_id=purchase_id, already_recorded=landed_before)


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
