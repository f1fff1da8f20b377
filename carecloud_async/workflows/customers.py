"""Customers: verify credentials, find customers by identifiers, and the password-setup message.

Customer login and logout on the Customer API are :meth:`CareCloud.login_customer` and
:meth:`CareCloud.logout_customer`; :func:`send_password_setup_email` completes the account flows.

    customer_id = await verify_customer_credentials(cc, login_type="email", login_value=email, password=pw)
    jane = await find_customers(cc, email="jane@example.com")          # or last_name=..., birthdate=...
    one = await find_customer(cc, first_name="Jane", last_name="Doe")   # AmbiguousCustomer if several
    holder = await find_customer_by_card(cc, "1000000000016")
    matches = await search_customers(cc, first_name="Jane", last_name="Doe", birthdate=date(1985, 2, 12),
                                     card_number="1000000000016")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Literal

from carecloud_api.api.customers import get_customer, get_customers
from carecloud_api.api.customers_actions import get_customer_search, post_customer_verify_credentials
from carecloud_api.api.tokens import post_token_send_password_setup
from carecloud_api.models.customer import Customer
from carecloud_api.models.customer_result import CustomerResult
from carecloud_api.models.mode import Mode
from carecloud_api.models.post_customer_verify_credentials_body import PostCustomerVerifyCredentialsBody
from carecloud_api.models.post_customer_verify_credentials_body_login_type import (
    PostCustomerVerifyCredentialsBodyLoginType,
)
from carecloud_api.models.post_token_send_password_setup_body import PostTokenSendPasswordSetupBody
from carecloud_api.types import UNSET, Unset

from .._client import CareCloud
from .._customer_auth import CustomerAuth
from .._errors import CareCloudError, RequestValidationError, TokenStoreError
from ._checks import answered, date_text, optional_text, require_choice, require_text, require_texts, require_whole
from .cards import find_card

__all__ = [
    "AmbiguousCustomer",
    "find_customer",
    "find_customer_by_card",
    "find_customers",
    "search_customer",
    "search_customer_records",
    "search_customers",
    "send_password_setup_email",
    "verify_customer_credentials",
]


async def verify_customer_credentials(
    cc: CareCloud,
    *,
    login_type: Literal["email", "card"],
    login_value: str,
    password: str,
) -> str:
    """The customer id for these credentials (``POST /customers/actions/verify-credentials``,
    Enterprise API). ``login_type`` is ``"email"`` (``login_value`` an e-mail) or ``"card"`` (a
    card number). Wrong credentials come back as the server's refusal (an ``APIError``, usually
    ``BadRequest``); the password is never put in a message or log.

        customer_id = await verify_customer_credentials(
            cc, login_type="email", login_value="jane@example.com", password=password
        )
    """
    require_choice(login_type, ("email", "card"), "login_type")
    body = PostCustomerVerifyCredentialsBody(
        login_type=PostCustomerVerifyCredentialsBodyLoginType(login_type),
        login_value=require_text(login_value, "login_value"),
        password=require_text(password, "password"),
    )
    answer = await cc.call(post_customer_verify_credentials.call, body=body)
    operation = "POST /customers/actions/verify-credentials"
    return answered(answered(answer.data, operation, "data").customer_id, operation, "customer_id")


class AmbiguousCustomer(CareCloudError):
    """Several customers match where exactly one was expected (:func:`find_customer`,
    :func:`search_customer`); nothing was changed. ``customer_ids`` lists (some of) them: add
    details to narrow the search.

        try:
            jane = await find_customer(cc, first_name="Jane", last_name="Doe", birthdate=date(1985, 2, 12))
        except AmbiguousCustomer as exc:
            print(exc.customer_ids)
    """

    def __init__(self, filters: str, customer_ids: tuple[str, ...]):
        super().__init__(
            f"{len(customer_ids)} or more customers match {filters}: {', '.join(customer_ids)}; "
            "give more details to find exactly one"
        )
        self.customer_ids = customer_ids


async def find_customers(
    cc: CareCloud,
    *,
    email: str | None = None,
    phone: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    birthdate: str | date | None = None,
    customer_source_id: str | None = None,
    emails: Iterable[str] = (),
    customer_ids: Iterable[str] = (),
    short_salutation: bool | None = None,
    max_items: int = 100,
) -> list[Customer]:
    """Customers matching every filter given (``GET /customers``, every page up to ``max_items``),
    with their personal data and consents: the vendor's "Search customers" use case.

    Filters: ``email``, ``phone`` (with its international prefix and no ``+``: ``420523828931``),
    ``first_name``, ``last_name``, ``birthdate`` (a ``date`` or ``YYYY-MM-DD``),
    ``customer_source_id``, ``emails`` (any of these addresses) and ``customer_ids``; at least one
    is needed. ``short_salutation=True`` asks for salutations with the first name only.
    A general value (``first_name="John"``) can match many: see :func:`find_customer` for exactly one.

        matches = await find_customers(cc, email="jane@example.com")
        does = await find_customers(cc, last_name="Doe", birthdate=date(1985, 2, 12))
    """
    require_whole(max_items, "max_items", minimum=1)
    filters = _customer_filters(
        email=email,
        phone=phone,
        first_name=first_name,
        last_name=last_name,
        birthdate=birthdate,
        customer_source_id=customer_source_id,
        emails=emails,
        customer_ids=customer_ids,
    )
    if short_salutation is not None and not isinstance(short_salutation, bool):
        raise RequestValidationError(f"short_salutation must be True or False, not {short_salutation!r}")
    paginator = cc.paginate(
        get_customers,
        page_size=min(max_items, 100),
        max_items=max_items,
        customer_short_salutation=UNSET if short_salutation is None else short_salutation,
        **filters,
    )
    customers: list[Customer] = await paginator.collect()
    return customers


async def find_customer(
    cc: CareCloud,
    *,
    email: str | None = None,
    phone: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    birthdate: str | date | None = None,
    customer_source_id: str | None = None,
    emails: Iterable[str] = (),
    customer_ids: Iterable[str] = (),
) -> Customer | None:
    """The one customer matching every filter given (see :func:`find_customers` for the filters),
    or None when none does; :class:`AmbiguousCustomer` when several do.

        jane = await find_customer(cc, first_name="Jane", last_name="Doe", birthdate=date(1985, 2, 12))
    """
    filters = _customer_filters(
        email=email,
        phone=phone,
        first_name=first_name,
        last_name=last_name,
        birthdate=birthdate,
        customer_source_id=customer_source_id,
        emails=emails,
        customer_ids=customer_ids,
    )
    found: list[Customer] = await cc.paginate(get_customers, page_size=2, max_items=2, **filters).collect()
    if len(found) > 1:
        raise AmbiguousCustomer(_shown_filters(filters), tuple(str(c.customer_id) for c in found))
    return found[0] if found else None


def _customer_filters(
    *,
    email: str | None,
    phone: str | None,
    first_name: str | None,
    last_name: str | None,
    birthdate: str | date | None,
    customer_source_id: str | None,
    emails: Iterable[str],
    customer_ids: Iterable[str],
) -> dict[str, Any]:
    filters: dict[str, Any] = {
        "email": optional_text(email, "email"),
        "phone": optional_text(phone, "phone"),
        "first_name": optional_text(first_name, "first_name"),
        "last_name": optional_text(last_name, "last_name"),
        "birthdate": UNSET if birthdate is None else date_text(birthdate, "birthdate"),
        "customer_source_id": optional_text(customer_source_id, "customer_source_id"),
    }
    email_list = require_texts(emails, "emails")
    ids = require_texts(customer_ids, "customer_ids")
    filters["email_list"] = email_list if email_list else UNSET
    filters["customer_ids"] = ids if ids else UNSET
    if all(isinstance(value, Unset) for value in filters.values()):
        raise RequestValidationError(
            "give at least one of email, phone, first_name, last_name, birthdate, customer_source_id, "
            "emails, customer_ids"
        )
    return filters


def _shown_filters(filters: Mapping[str, Any]) -> str:
    # Names only: the values are personal data and do not belong in an exception message.
    return " and ".join(name for name, value in filters.items() if not isinstance(value, Unset))


async def find_customer_by_card(cc: CareCloud, card_number: str) -> Customer | None:
    """The customer holding the card ``card_number`` (``GET /cards?card_number=...``, then
    ``GET /customers/{customer_id}``); None if no card has this number or the card is free.

        customer = await find_customer_by_card(cc, "1000000000016")
    """
    card = await find_card(cc, card_number)
    if card is None or not isinstance(card.customer_id, str) or not card.customer_id:
        return None
    answer = await cc.call(get_customer.call, card.customer_id)
    return answered(answer.data, "GET /customers/{customer_id}", "data")


async def search_customers(
    cc: CareCloud,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    birthdate: str | date | None = None,
    card_number: str | None = None,
    mode: Literal["strict", "none"] = "strict",
) -> list[CustomerResult]:
    """Customers matching these details (``GET /customers/actions/search-customers``, Enterprise
    API): each result has a ``customer_id`` and a ``match`` percentage (``data.strict[]``).

    ``mode="strict"`` (the only mode the server serves today) needs all four details;
    ``birthdate`` is a ``date`` or ``YYYY-MM-DD`` / ``DD.MM.YYYY`` text.

        results = await search_customers(cc, first_name="Jane", last_name="Doe",
                                         birthdate=date(1985, 2, 12), card_number="1000000000016")
        ids = [r.customer_id for r in results]
    """
    require_choice(mode, ("strict", "none"), "mode")
    details = {
        "first_name": optional_text(first_name, "first_name"),
        "last_name": optional_text(last_name, "last_name"),
        "birthdate": UNSET if birthdate is None else date_text(birthdate, "birthdate"),
        "card_number": optional_text(card_number, "card_number"),
    }
    missing = [name for name, value in details.items() if isinstance(value, Unset)]
    if mode == "strict" and missing:
        raise RequestValidationError(f"search_customers in strict mode needs {', '.join(missing)} as well")
    if len(missing) == len(details):
        raise RequestValidationError("search_customers needs at least one of " + ", ".join(details))
    answer = await cc.call(
        get_customer_search.call,
        first_name=details["first_name"],
        last_name=details["last_name"],
        birthdate=details["birthdate"],
        card_number=details["card_number"],
        mode=Mode(mode),
    )
    if isinstance(answer.data, Unset) or isinstance(answer.data.strict, Unset):
        return []
    return list(answer.data.strict)


async def search_customer_records(
    cc: CareCloud,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    birthdate: str | date | None = None,
    card_number: str | None = None,
    mode: Literal["strict", "none"] = "strict",
) -> list[Customer]:
    """:func:`search_customers`, then each match's record (``GET /customers/{customer_id}``), best
    match first: the vendor's search use case, steps 4 to 7.

        records = await search_customer_records(cc, first_name="Jane", last_name="Doe",
                                                birthdate=date(1985, 2, 12), card_number="1000000000016")
    """
    results = await search_customers(
        cc, first_name=first_name, last_name=last_name, birthdate=birthdate, card_number=card_number, mode=mode
    )
    return [await _customer(cc, customer_id) for customer_id in _result_ids(results)]


async def search_customer(
    cc: CareCloud,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    birthdate: str | date | None = None,
    card_number: str | None = None,
    mode: Literal["strict", "none"] = "strict",
) -> Customer | None:
    """The one customer :func:`search_customers` finds, with its record, or None;
    :class:`AmbiguousCustomer` when it finds several.

        jane = await search_customer(cc, first_name="Jane", last_name="Doe",
                                     birthdate=date(1985, 2, 12), card_number="1000000000016")
    """
    results = await search_customers(
        cc, first_name=first_name, last_name=last_name, birthdate=birthdate, card_number=card_number, mode=mode
    )
    ids = _result_ids(results)
    if len(ids) > 1:
        raise AmbiguousCustomer("the search", ids)
    return await _customer(cc, ids[0]) if ids else None


def _result_ids(results: list[CustomerResult]) -> tuple[str, ...]:
    ranked = sorted(results, key=lambda r: -(r.match if isinstance(r.match, (int, float)) else 0))
    return tuple(dict.fromkeys(r.customer_id for r in ranked if isinstance(r.customer_id, str) and r.customer_id))


async def _customer(cc: CareCloud, customer_id: str) -> Customer:
    answer = await cc.call(get_customer.call, customer_id)
    return answered(answer.data, "GET /customers/{customer_id}", "data")


async def send_password_setup_email(
    cc: CareCloud,
    *,
    email: str | None = None,
    communication_channel_id: str | None = None,
    recipient: str | None = None,
) -> None:
    """Ask CareCloud to send the customer a link to set up a new password (Customer API:
    ``POST /tokens/{token_id}/actions/send-password-setup-email`` on this device's token).

    Give ``email`` (deprecated by the API, still served) or ``communication_channel_id`` and
    ``recipient`` (see ``GET /communication-channels``). The device token is obtained first if
    this client has none yet.

        await send_password_setup_email(cc, email="jane@example.com")
        await send_password_setup_email(cc, communication_channel_id=sms_channel_id, recipient="420523828931")
    """
    if email is not None and (communication_channel_id is not None or recipient is not None):
        raise RequestValidationError("give either email, or communication_channel_id and recipient, not both")
    if email is None and (communication_channel_id is None or recipient is None):
        raise RequestValidationError("send_password_setup_email needs email, or communication_channel_id and recipient")
    body = PostTokenSendPasswordSetupBody(
        email=optional_text(email, "email"),
        communication_channel_id=optional_text(communication_channel_id, "communication_channel_id"),
        recipient=optional_text(recipient, "recipient"),
    )
    token_id = await _device_token_id(cc)
    # A token renewed during the call is handled by the auth flow: its replay names the new token.
    await cc.call(post_token_send_password_setup.call, token_id, body=body)


async def _device_token_id(cc: CareCloud) -> str:
    auth = cc.auth
    if not isinstance(auth, CustomerAuth):
        raise RequestValidationError(
            "send_password_setup_email is part of the Customer API; use a CareCloud.customer(...) client"
        )
    if auth.token_id is None:
        await cc.authenticate()
    if auth.token_id is None:  # pragma: no cover - authenticate() either sets it or raises
        raise TokenStoreError("no device token is in use after authenticating")
    return auth.token_id
