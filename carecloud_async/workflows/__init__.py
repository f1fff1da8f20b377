"""Workflow helpers for the integration use cases CareCloud documents.

Each helper is an ``async`` function taking the :class:`~carecloud_async.CareCloud` first; it
checks its arguments before anything is sent (:class:`~carecloud_async.RequestValidationError`),
builds the generated request models, calls through ``cc.call`` / ``cc.paginate`` (so auth,
retries and typed errors apply) and returns a generated model or a small frozen dataclass.

    from carecloud_async.workflows import assign_free_card, checkout, verify_customer_credentials

    async with CareCloud.enterprise(...) as cc:
        customer_id = await verify_customer_credentials(cc, login_type="email", login_value=email, password=pw)
        await assign_free_card(cc, card_number="1000000000016", customer_id=customer_id)

Areas: :mod:`.customers` (credentials, finding customers, password setup), :mod:`.signup`
(customer sign-up and its lookups), :mod:`.customer_sync` (find by external id, sync customers),
:mod:`.personal_data` (the logged-in customer, customer updates, password reset), :mod:`.updates`
(safe whole-record updates of any GET+PUT resource), :mod:`.cards` (find, assign and create
cards), :mod:`.checkout` (POS checkout), :mod:`.wallet_payments` (points and credit payments),
:mod:`.otp` (one-time passwords), :mod:`.marketing` (newsletter sign-up, events),
:mod:`.abandoned_cart` (cart events), :mod:`.catalog_sync` (batch product sync). The README's
"Workflows" table maps each of the vendor's 22 use cases to its helper.
"""

from ._checks import IncompleteResponse
from .abandoned_cart import Cart, CartItem, cart_event_data, send_abandoned_cart_event, send_cart_updated_event
from .cards import (
    AssignedCard,
    CardNotAssignable,
    CardNotCreatable,
    CardRefusal,
    CreatedCard,
    assign_free_card,
    create_card,
    find_card,
    find_card_type,
)
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
    DuplicateBill,
    PaymentType,
    RewardListType,
    SentPurchase,
    checkout,
    final_bill,
    payment_recap,
    price_after_payment,
)
from .customer_sync import (
    AmbiguousExternalId,
    CustomerSyncRecord,
    SyncAction,
    SyncFailure,
    SyncOutcome,
    SyncReport,
    find_customer_by_external_id,
    find_customer_id_by_external_id,
    sync_customer,
    sync_customers,
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
from .personal_data import (
    AmbiguousEmail,
    CustomerNotLoggedIn,
    find_customer_for_password_reset,
    get_logged_in_customer,
    get_logged_in_property_records,
    set_customer_password,
    update_customer,
    update_customer_property,
)
from .signup import (
    SignedUpCustomer,
    SignUpIncomplete,
    SignUpOptions,
    WeakPassword,
    check_password,
    personal_information_of,
    sign_up_customer,
    sign_up_options,
)
from .updates import (
    ConflictCheck,
    RecordChanges,
    RecordUpdate,
    UnknownField,
    UpdatableResource,
    UpdateConflict,
    updatable_resources,
    update_record,
)
from .wallet_payments import (
    CreditBalance,
    InsufficientBalance,
    PointsBalance,
    apply_credit,
    apply_points,
    credit_balance,
    pay_with_credit,
    pay_with_points,
    points_balance,
    price_after,
)

__all__ = [
    "MAX_BATCH_CONCURRENCY",
    "MAX_BATCH_SIZE",
    "AmbiguousEmail",
    "AmbiguousExternalId",
    "AssignedCard",
    "BatchSummary",
    "BatchSyncError",
    "CardNotAssignable",
    "CardNotCreatable",
    "CardRefusal",
    "Cart",
    "CartItem",
    "Checkout",
    "CheckoutResult",
    "ChooseRewards",
    "ConflictCheck",
    "CreatedCard",
    "CreatedEvent",
    "CreditBalance",
    "CustomerNotLoggedIn",
    "CustomerSyncRecord",
    "DuplicateBill",
    "ErrorProcessingMode",
    "IncompleteResponse",
    "InsufficientBalance",
    "OtpChannel",
    "OtpType",
    "PaymentType",
    "PointsBalance",
    "PropertyValue",
    "RecordChanges",
    "RecordUpdate",
    "RewardListType",
    "SentPurchase",
    "SignUpIncomplete",
    "SignUpOptions",
    "SignedUpCustomer",
    "SyncAction",
    "SyncFailure",
    "SyncOutcome",
    "SyncReport",
    "UnknownField",
    "UpdatableResource",
    "UpdateConflict",
    "WeakPassword",
    "apply_credit",
    "apply_points",
    "assign_free_card",
    "cart_event_data",
    "check_password",
    "checkout",
    "chunked",
    "create_card",
    "create_event",
    "credit_balance",
    "final_bill",
    "find_card",
    "find_card_type",
    "find_customer_by_card",
    "find_customer_by_external_id",
    "find_customer_for_password_reset",
    "find_customer_id_by_external_id",
    "find_customers",
    "get_logged_in_customer",
    "get_logged_in_property_records",
    "make_property_records",
    "pay_with_credit",
    "pay_with_points",
    "payment_recap",
    "personal_information_of",
    "points_balance",
    "price_after",
    "price_after_payment",
    "search_customers",
    "send_abandoned_cart_event",
    "send_cart_updated_event",
    "send_otp",
    "send_password_setup_email",
    "set_customer_password",
    "sign_up_customer",
    "sign_up_for_newsletter",
    "sign_up_options",
    "sync_customer",
    "sync_customers",
    "sync_product_brands",
    "sync_product_groups",
    "sync_products",
    "updatable_resources",
    "update_customer",
    "update_customer_property",
    "update_record",
    "verify_customer_credentials",
    "verify_otp",
]
