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

__all__ = [
    "MAX_BATCH_CONCURRENCY",
    "MAX_BATCH_SIZE",
    "AmbiguousEmail",
    "AmbiguousExternalId",
    "AssignedCard",
    "BatchSummary",
    "BatchSyncError",
    "CardNotAssignable",
    "CardRefusal",
    "Checkout",
    "CheckoutResult",
    "ChooseRewards",
    "ConflictCheck",
    "CreatedEvent",
    "CustomerNotLoggedIn",
    "CustomerSyncRecord",
    "ErrorProcessingMode",
    "IncompleteResponse",
    "OtpChannel",
    "OtpType",
    "PaymentType",
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
    "assign_free_card",
    "check_password",
    "checkout",
    "chunked",
    "create_event",
    "final_bill",
    "find_card",
    "find_customer_by_card",
    "find_customer_by_external_id",
    "find_customer_for_password_reset",
    "find_customer_id_by_external_id",
    "find_customers",
    "get_logged_in_customer",
    "get_logged_in_property_records",
    "make_property_records",
    "payment_recap",
    "personal_information_of",
    "search_customers",
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
