"""Sample request bodies the fake accepts, for tests that need a valid one and care about little.

body = sample_purchase("B-1", cashdesk_number=2)      # a PostPurchaseSendBody
await cc.call(post_purchase_send, body=body)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from carecloud_api.models import PostPurchaseSendBody

__all__ = ["sample_purchase"]

_SAMPLE_TYPE_ID = "8bed991c68a470e7aaeffbf048"


def sample_purchase(
    bill_id: str, *, store_id: str = "store-1", cashdesk_number: int = 1, total_price: float | None = None
) -> PostPurchaseSendBody:
    """A paid send-purchase body with one item (700.0) and this ``bill_id``, as the fake (and
    CareCloud) accept it. ``total_price`` other than the item's paid amount breaks CareCloud's
    recap arithmetic: the fake refuses it with 400 ``not_allowed_value`` on ``bill.total_price``.

    >>> sample_purchase("B-1", cashdesk_number=2).bill.total_price
    700.0
    """
    from carecloud_api.models import BillItem, FinalBill, FinalBillPaymentType, PluId, PostPurchaseSendBody

    bill = FinalBill(
        purchase_type_id=_SAMPLE_TYPE_ID,
        canceled=False,
        payment_type=FinalBillPaymentType.S,
        bill_id=bill_id,
        payment_time="2026-11-29 10:15:00",
        currency_id=_SAMPLE_TYPE_ID,
        total_price=700.0 if total_price is None else total_price,
        bill_items=[
            BillItem(
                plu_ids=[PluId(list_code="GLOBAL", code="8594000000011")],
                plu_name="Wine",
                vat_rate=21.0,
                quantity=1.0,
                paid_amount=700.0,
                price=700.0,
                bill_item_id="1",
                loyalty_off=False,
                purchase_item_type_id=_SAMPLE_TYPE_ID,
            )
        ],
    )
    return PostPurchaseSendBody(store_id=store_id, cashdesk_number=cashdesk_number, bill=bill)
