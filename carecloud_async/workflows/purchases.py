"""Purchases after checkout: the cancelling bill of a purchase already sent.

CareCloud cancels a purchase with a second send-purchase of the same bill, changed in three
fields only: ``canceled`` is true, ``bill_id`` is new and unique, and ``bill_number`` holds the
original ``bill_id`` (amounts and items stay as they were, not negated).

    cancel = cancelling_bill(original_body)            # bill_id "C" + the original's
    await cc.call(post_purchase_send.call, body=cancel)
    # or, through the durable outbox: await outbox.cancel(original_body.bill.bill_id)
"""

from __future__ import annotations

from typing import overload

from carecloud_api.models.final_bill import FinalBill
from carecloud_api.models.post_purchase_send_body import PostPurchaseSendBody

from .._errors import RequestValidationError
from ._checks import require_text

__all__ = ["cancelling_bill"]


@overload
def cancelling_bill(original: PostPurchaseSendBody, *, new_bill_id: str | None = None) -> PostPurchaseSendBody: ...


@overload
def cancelling_bill(original: FinalBill, *, new_bill_id: str | None = None) -> FinalBill: ...


def cancelling_bill(
    original: PostPurchaseSendBody | FinalBill, *, new_bill_id: str | None = None
) -> PostPurchaseSendBody | FinalBill:
    """The bill that cancels ``original`` (a send-purchase body, or just its final bill): a copy
    with ``canceled`` true, ``bill_id`` = ``new_bill_id`` (by default ``"C"`` + the original's, the
    prefix the spec suggests) and ``bill_number`` = the original ``bill_id``. The original is left
    unchanged. A bill that is itself a cancellation, or a new ``bill_id`` equal to the original's,
    raises :class:`~carecloud_async.RequestValidationError`.

        >>> from carecloud_api.models import FinalBill, FinalBillPaymentType
        >>> bill = FinalBill(purchase_type_id="pt", canceled=False, payment_type=FinalBillPaymentType.S,
        ...                  bill_id="39475X", payment_time="2026-11-29 10:00:00", currency_id="czk",
        ...                  total_price=700.0, bill_items=[])
        >>> cancel = cancelling_bill(bill)
        >>> cancel.canceled, cancel.bill_id, cancel.bill_number, cancel.total_price
        (True, 'C39475X', '39475X', 700.0)
    """
    if isinstance(original, PostPurchaseSendBody):
        body = PostPurchaseSendBody.from_dict(original.to_dict())
        body.bill = _cancelling(body.bill, new_bill_id)
        return body
    if isinstance(original, FinalBill):
        return _cancelling(FinalBill.from_dict(original.to_dict()), new_bill_id)
    raise RequestValidationError(
        f"cancelling_bill takes a PostPurchaseSendBody or a FinalBill, not a {type(original).__name__}"
    )


def _cancelling(copy: FinalBill, new_bill_id: str | None) -> FinalBill:
    original_id = require_text(copy.bill_id, "bill.bill_id")
    if copy.canceled:
        raise RequestValidationError(f"bill {original_id!r} is itself a cancellation; it cannot be cancelled")
    bill_id = "C" + original_id if new_bill_id is None else require_text(new_bill_id, "new_bill_id")
    if bill_id == original_id:
        raise RequestValidationError("the cancelling bill needs a bill_id of its own, not the original's")
    copy.canceled = True
    copy.bill_id = bill_id
    copy.bill_number = original_id
    return copy
