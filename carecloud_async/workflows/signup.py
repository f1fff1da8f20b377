"""Customer sign-up: the lookups a sign-up form needs, then the new customer account.

    options = await sign_up_options(cc)                 # stores, customer sources, customer properties
    new = await sign_up_customer(
        cc,
        personal_information={"first_name": "Jane", "last_name": "Doe", "email": "jane@example.com",
                              "language_id": "en", "store_id": options.stores[0].store_id},
        customer_source_id=options.customer_sources[0].customer_source_id,
        external_id="ESHOP-1001",                       # the customer's id in your system
        property_records={"favourite_colour": "blue"},
        interest_ids=["81eaeea13b8984a169c490a325"],
        options=options,                                # check the ids against the lookups first
    )
    print(new.customer_id)

Both APIs serve these operations. ``POST /customers`` takes the personal information, one
customer source record (the source and the customer's external id in your system, which is what
:func:`~carecloud_async.workflows.find_customer_by_external_id` later searches) and property
records; interests are their own records, added after the account exists
(``POST /customers/{customer_id}/interest-records``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import attrs
from carecloud_api.api.customer_properties import get_customer_properties
from carecloud_api.api.customer_sources import get_customer_sources
from carecloud_api.api.customers import post_customer, post_sub_customer_interest
from carecloud_api.api.stores import get_stores
from carecloud_api.models.customer import Customer
from carecloud_api.models.customer_source import CustomerSource
from carecloud_api.models.customer_source_record import CustomerSourceRecord
from carecloud_api.models.interest_record import InterestRecord
from carecloud_api.models.personal_information import PersonalInformation
from carecloud_api.models.post_customer_body import PostCustomerBody
from carecloud_api.models.post_sub_customer_interest_body import PostSubCustomerInterestBody
from carecloud_api.models.property_ import Property
from carecloud_api.models.property_record import PropertyRecord
from carecloud_api.models.store import Store
from carecloud_api.types import UNSET

from .._client import CareCloud
from .._customer_auth import CustomerAuth, CustomerCredentials
from .._errors import CareCloudError, RequestValidationError
from ._checks import answered, optional_text, require_text, require_texts, require_whole
from .marketing import PropertyValue, make_property_records
from .updates import UnknownField

__all__ = [
    "SignUpIncomplete",
    "SignUpOptions",
    "SignedUpCustomer",
    "WeakPassword",
    "check_password",
    "personal_information_of",
    "sign_up_customer",
    "sign_up_options",
]

_CREATE = "POST /customers"
_COMMON_PASSWORDS = frozenset({"password", "password1", "abc123", "12345678", "123456789", "qwerty123", "Password1"})


class WeakPassword(RequestValidationError):
    """The password does not meet CareCloud's rules (at least 8 characters, a digit, an uppercase
    letter, not a common password); the message names the rule, never the password.

        try:
            check_password(typed)
        except WeakPassword as exc:
            show(str(exc))
    """


class SignUpIncomplete(CareCloudError):
    """The customer account was created, but a later step (an interest record) failed.

    ``customer_id`` is the new account: do not sign the customer up again; add what is missing
    (``interest_ids`` lists the interests not added) to that account.
    """

    def __init__(self, customer_id: str, interest_ids: tuple[str, ...], cause: CareCloudError):
        super().__init__(
            f"customer {customer_id} was created, but adding interests {', '.join(interest_ids)} failed ({cause}); "
            "add them to this customer, do not sign up again"
        )
        self.customer_id = customer_id
        self.interest_ids = interest_ids


@dataclass(frozen=True)
class SignUpOptions:
    """What a sign-up form offers (``GET /stores``, ``/customer-sources``, ``/customer-properties``)."""

    stores: tuple[Store, ...]
    customer_sources: tuple[CustomerSource, ...]
    customer_properties: tuple[Property, ...]

    def required_property_ids(self) -> tuple[str, ...]:
        """The ids of the customer properties the project marks as required."""
        return tuple(
            p.property_id for p in self.customer_properties if p.is_required and isinstance(p.property_id, str)
        )


@dataclass(frozen=True)
class SignedUpCustomer:
    """The new account: its ``customer_id`` and the ``interest_record_ids`` added to it."""

    customer_id: str
    interest_record_ids: tuple[str, ...] = ()


async def sign_up_options(cc: CareCloud, *, max_items: int = 1000) -> SignUpOptions:
    """The stores, customer sources and customer properties for a sign-up form (three lists,
    fetched at once, each up to ``max_items``).

        options = await sign_up_options(cc)
        choices = {store.name: store.store_id for store in options.stores}
    """
    require_whole(max_items, "max_items", minimum=1)
    page = min(max_items, 100)
    stores, sources, properties = await asyncio.gather(
        cc.paginate(get_stores, item_type=Store, page_size=page, max_items=max_items).collect(),
        cc.paginate(get_customer_sources, item_type=CustomerSource, page_size=page, max_items=max_items).collect(),
        cc.paginate(get_customer_properties, item_type=Property, page_size=page, max_items=max_items).collect(),
    )
    return SignUpOptions(tuple(stores), tuple(sources), tuple(properties))


def check_password(password: str) -> str:
    """``password`` if it meets CareCloud's rules for customer passwords, else :class:`WeakPassword`.

    >>> check_password("Spring-2026")
    'Spring-2026'
    >>> check_password("spring")
    Traceback (most recent call last):
    ...
    carecloud_async.workflows.signup.WeakPassword: the password must have at least 8 characters
    """
    if not isinstance(password, str):
        raise WeakPassword(f"the password must be a string, not a {type(password).__name__}")
    if len(password) < 8:
        raise WeakPassword("the password must have at least 8 characters")
    if not re.search(r"\d", password):
        raise WeakPassword("the password must contain a digit")
    if not re.search(r"[A-Z]", password):
        raise WeakPassword("the password must contain an uppercase letter")
    if password in _COMMON_PASSWORDS:
        raise WeakPassword("the password is a common one; choose another")
    return password


def personal_information_of(value: PersonalInformation | Mapping[str, Any]) -> PersonalInformation:
    """A ``PersonalInformation`` from the model or a mapping of its fields (``language_id`` is
    required: CareCloud writes to the customer in that language).

        info = personal_information_of({"first_name": "Jane", "email": "jane@example.com", "language_id": "en"})
    """
    if isinstance(value, PersonalInformation):
        info = value
    elif isinstance(value, Mapping):
        unknown = sorted(set(value) - PERSONAL_FIELDS)
        if unknown:
            raise UnknownField(unknown[0], "PersonalInformation", tuple(sorted(PERSONAL_FIELDS)))
        require_text(value.get("language_id"), "personal_information.language_id")
        try:
            info = PersonalInformation.from_dict(dict(value))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RequestValidationError(f"personal_information does not fit PersonalInformation: {exc!r}") from None
    else:
        raise RequestValidationError("personal_information must be a PersonalInformation or a mapping of its fields")
    require_text(info.language_id, "personal_information.language_id")
    return info


async def sign_up_customer(
    cc: CareCloud,
    *,
    personal_information: PersonalInformation | Mapping[str, Any],
    customer_source_id: str,
    external_id: str | None = None,
    property_records: Mapping[str, PropertyValue] | Iterable[PropertyRecord] = (),
    interest_ids: Iterable[str] = (),
    password: str | None = None,
    autologin: bool = False,
    referral_code: str | None = None,
    options: SignUpOptions | None = None,
) -> SignedUpCustomer:
    """Create a customer account (``POST /customers``) with its customer source record
    (``customer_source_id`` and the customer's ``external_id`` in your system) and property
    records, then add ``interest_ids`` as interest records.

    With ``options`` (from :func:`sign_up_options`) the store, customer source and property ids
    are checked against them, and the properties the project requires must be given, before
    anything is sent. ``autologin=True`` (Customer API: the server logs the new customer in on
    this device's token) needs a ``password``; afterwards ``cc.customer_id`` is the new customer,
    who is logged in again with the e-mail (or phone) and password should the token be replaced.
    On the Enterprise API the server only checks the password. A password must meet CareCloud's
    rules (:func:`check_password`).

        new = await sign_up_customer(cc, personal_information={"email": "jane@example.com", "language_id": "en"},
                                     customer_source_id=source_id, external_id="ESHOP-1001")

    Raises ``RequestValidationError`` (and :class:`WeakPassword`) before sending;
    :class:`SignUpIncomplete` when the account was created but an interest could not be added.
    """
    info = personal_information_of(personal_information)
    source_id = require_text(customer_source_id, "customer_source_id")
    records = make_property_records(property_records)
    interests = require_texts(interest_ids, "interest_ids")
    if autologin and password is None:
        raise RequestValidationError("autologin=True needs the customer's password")
    if password is not None:
        check_password(password)
    if options is not None:
        _check_against(options, info, source_id, records)

    body = PostCustomerBody(
        customer=Customer(personal_information=info),
        customer_source=CustomerSourceRecord(
            customer_source_id=source_id, external_id=optional_text(external_id, "external_id")
        ),
        autologin=autologin,
        password=UNSET if password is None else password,
        property_records=records if records else UNSET,
        referral_code=optional_text(referral_code, "referral_code"),
    )
    if autologin and password is not None and isinstance(cc.auth, CustomerAuth):
        # The server logs the new customer in on the token the request carries, at a moment of its
        # choosing: a barrier for the cache and dedupe, as a login is. Then say so to the auth, or
        # cc.customer_id stays None and the customer's own reads are refused.
        with cc.auth.session_may_change():
            answer = await cc.call(post_customer.call, body=body)
            customer_id = answered(answered(answer.data, _CREATE, "data").customer_id, _CREATE, "customer_id")
            await cc.auth.adopt_customer_login(customer_id, _credentials_of(info, password))
    else:
        answer = await cc.call(post_customer.call, body=body)
        customer_id = answered(answered(answer.data, _CREATE, "data").customer_id, _CREATE, "customer_id")

    added: list[str] = []
    for index, interest_id in enumerate(interests):
        record = InterestRecord(interest_id=interest_id, customer_id=customer_id)
        try:
            created = await cc.call(
                post_sub_customer_interest.call, customer_id, body=PostSubCustomerInterestBody(interest_record=record)
            )
        except CareCloudError as exc:
            raise SignUpIncomplete(customer_id, tuple(interests[index:]), exc) from exc
        operation = "POST /customers/{customer_id}/interest-records"
        added.append(answered(answered(created.data, operation, "data").interest_record_id, operation, "id"))
    return SignedUpCustomer(customer_id, tuple(added))


#: The field names of ``PersonalInformation`` (a mapping naming another is refused).
PERSONAL_FIELDS = frozenset(field.name for field in attrs.fields(PersonalInformation) if field.name != "unknown_fields")


def _credentials_of(info: PersonalInformation, password: str) -> CustomerCredentials | None:
    for login_type, value in (("email", info.email), ("phone", info.phone)):
        if isinstance(value, str) and value.strip():
            return CustomerCredentials(login_type, value, password)
    return None


def _check_against(
    options: SignUpOptions, info: PersonalInformation, source_id: str, records: list[PropertyRecord]
) -> None:
    stores = {store.store_id for store in options.stores}
    if isinstance(info.store_id, str) and info.store_id not in stores:
        raise RequestValidationError(
            f"store_id {info.store_id!r} is not one of the project's stores; pick one of sign_up_options().stores"
        )
    sources = {source.customer_source_id for source in options.customer_sources}
    if source_id not in sources:
        raise RequestValidationError(
            f"customer_source_id {source_id!r} is not one of the project's customer sources; "
            "pick one of sign_up_options().customer_sources"
        )
    properties = {p.property_id for p in options.customer_properties if isinstance(p.property_id, str)}
    given = {record.property_id for record in records}
    unknown = sorted(given - properties)
    if unknown:
        raise RequestValidationError(
            f"customer property {unknown[0]!r} does not exist in this project; "
            f"known ones: {', '.join(sorted(properties))}"
        )
    missing = [name for name in options.required_property_ids() if name not in given]
    if missing:
        raise RequestValidationError(f"the project requires the customer properties {', '.join(missing)}; give them")
