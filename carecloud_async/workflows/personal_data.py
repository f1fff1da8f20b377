"""A customer's personal data: read it (Customer API), update it safely (both APIs), and the
Enterprise forgotten-password flow.

Customer API, with a logged-in customer (:meth:`CareCloud.login_customer`):

    me = await get_logged_in_customer(cc)                     # GET /customers answers only them
    properties = await get_logged_in_property_records(cc)
    await update_customer(cc, changes={"personal_information.phone": "420523828931"})
    await update_customer_property(cc, "favourite_colour", "green")

Enterprise API, by customer id:

    await update_customer(cc, customer_id, changes={"personal_information.last_name": "Smith"})
    customer = await find_customer_for_password_reset(cc, "jane@example.com")   # then e-mail your link
    await set_customer_password(cc, customer.customer_id, new_password)         # from your reset form

Updates go through :func:`~carecloud_async.workflows.update_record`: the whole record is read and
put back, so fields you do not name are kept, and a change made meanwhile on the server is an
:class:`~carecloud_async.workflows.UpdateConflict` rather than overwritten. (The Customer API
password flow is the e-mailed link: :func:`~carecloud_async.workflows.send_password_setup_email`.)
"""

from __future__ import annotations

from typing import Any

from carecloud_api.api.customers import (
    get_customers,
    get_sub_customer_properties,
    post_sub_customer_properties,
    put_sub_customer_property,
)
from carecloud_api.models.customer import Customer
from carecloud_api.models.post_sub_customer_properties_body import PostSubCustomerPropertiesBody
from carecloud_api.models.property_record import PropertyRecord
from carecloud_api.models.put_sub_customer_property_body import PutSubCustomerPropertyBody

from .._client import CareCloud
from .._errors import CareCloudError, RequestValidationError
from ._checks import answered, require_text
from .customers import find_customers
from .signup import check_password
from .updates import ConflictCheck, RecordChanges, RecordUpdate, UnknownField, update_record

__all__ = [
    "AmbiguousEmail",
    "CustomerNotLoggedIn",
    "find_customer_for_password_reset",
    "get_logged_in_customer",
    "get_logged_in_property_records",
    "set_customer_password",
    "update_customer",
    "update_customer_property",
]

_CUSTOMER = "/customers/{customer_id}"


class CustomerNotLoggedIn(RequestValidationError):
    """A Customer API helper needs a logged-in customer and there is none; nothing was sent.
    Log the customer in first: ``await cc.login_customer(CustomerCredentials(...))``."""


class AmbiguousEmail(CareCloudError):
    """Several customers have this e-mail address; ``customer_ids`` lists them. A password reset
    must not guess: resolve the duplicates (or identify the customer another way) first."""

    def __init__(self, email_shown: str, customer_ids: tuple[str, ...]):
        super().__init__(
            f"{len(customer_ids)} customers have the e-mail {email_shown} ({', '.join(customer_ids)}); "
            "identify the customer another way before resetting a password"
        )
        self.customer_ids = customer_ids


async def get_logged_in_customer(cc: CareCloud) -> Customer:
    """The logged-in customer's record, personal data and consents included (Customer API:
    ``GET /customers`` answers the logged-in customer only).

        me = await get_logged_in_customer(cc)
        print(me.personal_information.first_name)
    """
    _logged_in(cc)
    answer = await cc.call(get_customers.call, count=1)
    customers = answered(answered(answer.data, "GET /customers", "data").customers, "GET /customers", "customers")
    return answered(customers[0] if customers else None, "GET /customers", "the logged-in customer")


async def get_logged_in_property_records(cc: CareCloud) -> list[PropertyRecord]:
    """The logged-in customer's property records (Customer API,
    ``GET /customers/{customer_id}/property-records``, every page).

        colours = [r.property_value for r in await get_logged_in_property_records(cc) if r.property_id == "colour"]
    """
    customer_id = _logged_in(cc)
    records: list[PropertyRecord] = await cc.paginate(
        get_sub_customer_properties, customer_id=customer_id, item_type=PropertyRecord, max_items=10_000
    ).collect()
    return records


async def update_customer(
    cc: CareCloud,
    customer_id: str | None = None,
    *,
    changes: RecordChanges,
    check: ConflictCheck = "auto",
    expected_last_change: str | None = None,
) -> RecordUpdate:
    """Change a customer's record safely (``GET`` then ``PUT /customers/{customer_id}`` with the
    whole record; see :func:`~carecloud_async.workflows.update_record`). On the Customer API
    ``customer_id`` defaults to the logged-in customer (and may only be theirs).

        await update_customer(cc, customer_id, changes={"personal_information.email": "jane@new.example.com"})
    """
    target = _customer_id_for(cc, customer_id)
    return await update_record(
        cc, _CUSTOMER, target, changes=changes, check=check, expected_last_change=expected_last_change
    )


async def update_customer_property(
    cc: CareCloud,
    property_id: str,
    value: Any,
    *,
    customer_id: str | None = None,
    create_missing: bool = False,
) -> PropertyRecord:
    """Set one property record of a customer
    (``PUT /customers/{customer_id}/property-records/{property_record_id}``), found among the
    customer's records by ``property_id``. A property the customer has no record of is refused
    (:class:`~carecloud_async.workflows.UnknownField`, with the closest ids) unless
    ``create_missing=True``, which adds it (``POST .../property-records``). On the Customer API
    ``customer_id`` defaults to the logged-in customer.

        await update_customer_property(cc, "favourite_colour", "green", customer_id=customer_id)
    """
    target = _customer_id_for(cc, customer_id)
    wanted = require_text(property_id, "property_id")
    records: list[PropertyRecord] = await cc.paginate(
        get_sub_customer_properties, customer_id=target, item_type=PropertyRecord, max_items=10_000
    ).collect()
    record = PropertyRecord(property_id=wanted, property_value=value)
    found = next((r for r in records if r.property_id == wanted), None)
    if found is None:
        if not create_missing:
            known = tuple(r.property_id for r in records)
            raise UnknownField(wanted, f"customer {target}'s property records (create_missing=True adds it)", known)
        await cc.call(
            post_sub_customer_properties.call, target, body=PostSubCustomerPropertiesBody(property_record=record)
        )
        return record
    record_id = answered(
        found.property_record_id, "GET /customers/{customer_id}/property-records", "property_record_id"
    )
    await cc.call(
        put_sub_customer_property.call, target, record_id, body=PutSubCustomerPropertyBody(property_record=record)
    )
    return record


async def find_customer_for_password_reset(cc: CareCloud, email: str) -> Customer | None:
    """The customer with this e-mail address (Enterprise API, ``GET /customers?email=``), or None:
    the first step of a forgotten-password flow run by your application (you send the reset link).

        customer = await find_customer_for_password_reset(cc, "jane@example.com")
        if customer is not None:
            send_my_reset_link(customer.customer_id)

    Raises :class:`AmbiguousEmail` when several customers have it.
    """
    address = require_text(email, "email").strip()
    if "@" not in address:
        raise RequestValidationError("email must be an e-mail address (it has no '@')")
    found = await find_customers(cc, email=address, max_items=10)
    # The filter is the server's; only an exact (case-insensitive) match may get a reset link.
    exact = [c for c in found if str(c.personal_information.email).lower() == address.lower()]
    ids = tuple(dict.fromkeys(c.customer_id for c in exact if isinstance(c.customer_id, str)))
    if len(ids) > 1:
        raise AmbiguousEmail("given", ids)
    return exact[0] if exact else None


async def set_customer_password(
    cc: CareCloud, customer_id: str, new_password: str, *, check: ConflictCheck = "auto"
) -> RecordUpdate:
    """Set a customer's new password (Enterprise API: ``PUT /customers/{customer_id}`` with the
    whole record as read, plus ``password``), the last step of the forgotten-password flow.

    The password is checked against CareCloud's rules first (:class:`WeakPassword`); it never
    appears in a message or log.

        await set_customer_password(cc, customer_id, typed_password)
    """
    target = require_text(customer_id, "customer_id")
    check_password(new_password)
    return await update_record(cc, _CUSTOMER, target, changes={}, check=check, body_extras={"password": new_password})


def _logged_in(cc: CareCloud) -> str:
    if cc.config.interface != "customer":
        raise RequestValidationError(
            "this helper reads the logged-in customer of the Customer API; on the Enterprise API use "
            "GET /customers/{customer_id} (cc.call(get_customer.call, customer_id))"
        )
    if cc.customer_id is None:
        raise CustomerNotLoggedIn(
            "no customer is logged in on this client; call await cc.login_customer(CustomerCredentials(...)) first"
        )
    return cc.customer_id


def _customer_id_for(cc: CareCloud, customer_id: str | None) -> str:
    if cc.config.interface == "customer":
        logged_in = _logged_in(cc)
        if customer_id is not None and customer_id != logged_in:
            raise RequestValidationError(
                f"the Customer API changes only the logged-in customer ({logged_in}), not {customer_id}"
            )
        return logged_in
    if customer_id is None:
        raise RequestValidationError("customer_id is required on the Enterprise API")
    return require_text(customer_id, "customer_id")
