"""Workflow helpers for the integration use cases CareCloud documents.

Each helper is an ``async`` function taking the :class:`~carecloud_async.CareCloud` first; it
checks its arguments before anything is sent (:class:`~carecloud_async.RequestValidationError`),
builds the generated request models, calls through ``cc.call`` / ``cc.paginate`` (so auth,
retries and typed errors apply) and returns a generated model or a small frozen dataclass.

    from carecloud_async.workflows import assign_free_card, checkout, verify_customer_credentials

    async with CareCloud.enterprise(...) as cc:
        customer_id = await verify_customer_credentials(cc, login_type="email", login_value=email, password=pw)
        await assign_free_card(cc, card_number="1000000000016", customer_id=customer_id)

Areas: :mod:`.customers` (credentials, finding customers, password setup), :mod:`.cards`
(find and assign a card), :mod:`.checkout` (POS checkout), :mod:`.otp` (one-time passwords),
:mod:`.marketing` (newsletter sign-up, events), :mod:`.catalog_sync` (batch product sync).
"""

from ._checks import IncompleteResponse
from .cards import AssignedCard, CardNotAssignable, CardRefusal, assign_free_card, find_card
from .catalog_sync import (
    MAX_BATCH_CONCURRENCY,
    MAX_BATCH_SIZE,
    BatchSummary,
    BatchSyncError,
    ErrorProcessingMode,
    chunked,
    sync_product_brands,
    sync_product_groups,
    sync_products,
)
from .checkout import (
    Checkout,
    CheckoutResult,
    ChooseRewards,
    PaymentType,
    RewardListType,
    SentPurchase,
    checkout,
    final_bill,
    payment_recap,
)
from .customers import (
    find_customer_by_card,
    find_customers,
    search_customers,
    send_password_setup_email,
    verify_customer_credentials,
)
from .marketing import CreatedEvent, PropertyValue, create_event, make_property_records, sign_up_for_newsletter
from .otp import OtpChannel, OtpType, send_otp, verify_otp

__all__ = [
    "MAX_BATCH_CONCURRENCY",
    "MAX_BATCH_SIZE",
    "AssignedCard",
    "BatchSummary",
    "BatchSyncError",
    "CardNotAssignable",
    "CardRefusal",
    "Checkout",
    "CheckoutResult",
    "ChooseRewards",
    "CreatedEvent",
    "ErrorProcessingMode",
    "IncompleteResponse",
    "OtpChannel",
    "OtpType",
    "PaymentType",
    "PropertyValue",
    "RewardListType",
    "SentPurchase",
    "assign_free_card",
    "checkout",
    "chunked",
    "create_event",
    "final_bill",
    "find_card",
    "find_customer_by_card",
    "find_customers",
    "make_property_records",
    "payment_recap",
    "search_customers",
    "send_otp",
    "send_password_setup_email",
    "sign_up_for_newsletter",
    "sync_product_brands",
    "sync_product_groups",
    "sync_products",
    "verify_customer_credentials",
    "verify_otp",
]
