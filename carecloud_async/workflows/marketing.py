"""Marketing: newsletter sign-up, and marketing-automation events with property records.

    await sign_up_for_newsletter(cc, contact="jane@example.com", customer_source_id=source_id)
    created = await create_event(cc, event_type_id=type_id, external_id="order-1234",
                                 customer_id=customer_id, property_records={"p1_note": "VIP"})

**Creating an event twice.** ``POST /events`` has no idempotency key, and the retry layer does not
resend a POST after a read timeout. ``external_id`` is the event's natural key: the server refuses
a second event with the same one (400, reason ``relation_already_exists`` on a key naming
``external_id``). :func:`create_event` takes that refusal as success —
``CreatedEvent(event_id=None, already_recorded=True)`` — since it means an earlier attempt landed,
and with ``resend_on_network_error=n`` sends the event again by itself after a network failure or
timeout. Use an ``external_id`` that is unique per real-world event, or check ``already_recorded``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from carecloud_api.api.customers_actions import post_customer_newsletters_sign_up
from carecloud_api.api.events import post_event
from carecloud_api.models.agreement import Agreement
from carecloud_api.models.event_post import EventPost
from carecloud_api.models.event_post_customer_identifier_type import EventPostCustomerIdentifierType
from carecloud_api.models.event_post_customer_identifier_value_type_1 import EventPostCustomerIdentifierValueType1
from carecloud_api.models.event_post_data_type_2 import EventPostDataType2
from carecloud_api.models.partner_record import PartnerRecord
from carecloud_api.models.post_customer_newsletters_sign_up_body import PostCustomerNewslettersSignUpBody
from carecloud_api.models.post_event_body import PostEventBody
from carecloud_api.models.property_record import PropertyRecord
from carecloud_api.types import UNSET, Unset

from .._client import CareCloud
from .._errors import RequestValidationError
from ._checks import answered, optional_text, require_text, require_texts, require_whole
from ._natural_keys import send_keyed

__all__ = ["CreatedEvent", "PropertyValue", "create_event", "make_property_records", "sign_up_for_newsletter"]

#: A property record's value: text (also dates ``YYYY-MM-DD``), number, flag, or a list of items.
PropertyValue = str | int | float | bool | list[Any]

_EVENTS = "POST /events"


@dataclass(frozen=True)
class CreatedEvent:
    """The outcome of :func:`create_event`. ``event_id`` is None exactly when ``already_recorded``:
    the server refused the event as a duplicate of its ``external_id`` (an earlier attempt landed)."""

    external_id: str
    event_id: str | None
    already_recorded: bool = False


async def sign_up_for_newsletter(
    cc: CareCloud,
    *,
    contact: str,
    customer_source_id: str,
    agreements: Agreement | None = None,
    language_id: str | None = None,
    partner_ids: Iterable[str] = (),
) -> None:
    """Sign ``contact`` (an e-mail address, phone number or other identifier) up for the
    newsletter (``POST /customers/actions/newsletters-sign-up``); the contact need not be a
    customer. ``partner_ids`` limits the partners it is related to (all the API user's partners
    otherwise). Verify the contact (e.g. a CAPTCHA) before calling, as CareCloud recommends.

        from carecloud_api.models.agreement import Agreement
        from carecloud_api.models.agreement_agreement_marketing_communication import (
            AgreementAgreementMarketingCommunication as Consent,
        )
        await sign_up_for_newsletter(cc, contact="jane@example.com", customer_source_id=source_id,
                                     agreements=Agreement(agreement_marketing_communication=Consent.VALUE_1))
    """
    if agreements is not None and not isinstance(agreements, Agreement):
        raise RequestValidationError("agreements must be a carecloud_api.models.Agreement")
    partners = require_texts(partner_ids, "partner_ids")
    body = PostCustomerNewslettersSignUpBody(
        contact=require_text(contact, "contact"),
        customer_source_id=require_text(customer_source_id, "customer_source_id"),
        agreements=UNSET if agreements is None else agreements,
        language_id=optional_text(language_id, "language_id"),
        partner_records=[PartnerRecord(partner_id=partner) for partner in partners] if partners else UNSET,
    )
    await cc.call(post_customer_newsletters_sign_up.call, body=body)


def make_property_records(records: Mapping[str, PropertyValue] | Iterable[PropertyRecord]) -> list[PropertyRecord]:
    """Property records from ``{property_id: value}`` (or generated ``PropertyRecord`` objects).

    make_property_records({"p1_note": "VIP customer", "p1_visit_count": 42})
    """
    if isinstance(records, Mapping):
        return [
            PropertyRecord(property_id=require_text(name, "property id"), property_value=value)
            for name, value in records.items()
        ]
    result = list(records)
    for index, record in enumerate(result):
        if not isinstance(record, PropertyRecord):
            kind = type(record).__name__
            raise RequestValidationError(f"property_records[{index}] must be a PropertyRecord, not {kind}")
        require_text(record.property_id, f"property_records[{index}].property_id")
    return result


async def create_event(
    cc: CareCloud,
    *,
    event_type_id: str,
    external_id: str,
    customer_id: str | None = None,
    customer_email: str | None = None,
    customer_phone: str | None = None,
    customer_source_record: tuple[str, str] | None = None,
    data: Mapping[str, Any] | list[str] | str | None = None,
    created_at: str | datetime | None = None,
    secondary_external_id: str | None = None,
    property_records: Mapping[str, PropertyValue] | Iterable[PropertyRecord] = (),
    resend_on_network_error: int = 0,
) -> CreatedEvent:
    """Create a marketing-automation event on a customer (``POST /events``), with its property
    records; a scenario wired to the event type starts with them.

    The customer is given by exactly one of ``customer_id``, ``customer_email``,
    ``customer_phone`` or ``customer_source_record`` (``(customer_source_id, external_id)`` of
    the customer in another system). ``created_at`` is project-local time (a naive ``datetime``
    or ``YYYY-MM-DD HH:MM:SS``). ``external_id`` is the natural key: see the module docs for
    ``already_recorded`` and ``resend_on_network_error``.

        created = await create_event(cc, event_type_id=type_id, external_id="newsletter-click-77",
                                     customer_email="jane@example.com", data={"campaign": "spring"},
                                     property_records={"p1_visit_count": 3})
        print(created.event_id)
    """
    require_whole(resend_on_network_error, "resend_on_network_error")
    event = EventPost(
        event_type_id=require_text(event_type_id, "event_type_id"),
        external_id=require_text(external_id, "external_id"),
        created_at=UNSET if created_at is None else _local_time(created_at),
        secondary_external_id=optional_text(secondary_external_id, "secondary_external_id"),
        data=_event_data(data),
    )
    _identify(event, customer_id, customer_email, customer_phone, customer_source_record)
    records = make_property_records(property_records)
    body = PostEventBody(event=event, property_records=records if records else UNSET)

    async def send() -> str:
        answer = await cc.call(post_event.call, body=body)
        return answered(answered(answer.data, _EVENTS, "data").event_id, _EVENTS, "event_id")

    event_id, landed_before = await send_keyed(
        send,
        key="external_id",
        reasons=("relation_already_exists", "already_exists"),
        resend_on_network_error=resend_on_network_error,
    )
    return CreatedEvent(external_id=external_id, event_id=event_id, already_recorded=landed_before)


def _identify(
    event: EventPost,
    customer_id: str | None,
    email: str | None,
    phone: str | None,
    source_record: tuple[str, str] | None,
) -> None:
    given = [
        name
        for name, value in (
            ("customer_id", customer_id),
            ("customer_email", email),
            ("customer_phone", phone),
            ("customer_source_record", source_record),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise RequestValidationError(
            "create_event needs exactly one of customer_id, customer_email, customer_phone, customer_source_record"
            + (f"; got {', '.join(given)}" if given else "")
        )
    if customer_id is not None:
        event.customer_id = require_text(customer_id, "customer_id")
    elif email is not None:
        event.customer_identifier_type = EventPostCustomerIdentifierType.EMAIL
        event.customer_identifier_value = require_text(email, "customer_email")
    elif phone is not None:
        event.customer_identifier_type = EventPostCustomerIdentifierType.PHONE
        event.customer_identifier_value = require_text(phone, "customer_phone")
    else:
        assert source_record is not None
        if not isinstance(source_record, tuple) or len(source_record) != 2:
            raise RequestValidationError("customer_source_record must be (customer_source_id, external_id)")
        source_id, customer_external_id = source_record
        event.customer_identifier_type = EventPostCustomerIdentifierType.EXTERNAL_ID
        event.customer_identifier_value = EventPostCustomerIdentifierValueType1(
            customer_source_id=require_text(source_id, "customer_source_record[0]"),
            external_id=require_text(customer_external_id, "customer_source_record[1]"),
        )


def _event_data(data: Mapping[str, Any] | list[str] | str | None) -> EventPostDataType2 | list[str] | str | Unset:
    if data is None:
        return UNSET
    if isinstance(data, Mapping):
        return EventPostDataType2.from_dict(dict(data))
    if isinstance(data, list):
        return require_texts(data, "data")
    if isinstance(data, str):
        return data
    raise RequestValidationError(f"data must be a mapping, a list of strings or a string, not {type(data).__name__}")


def _local_time(value: str | datetime) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise RequestValidationError("created_at must be naive project-local time (CareCloud takes no offset)")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return require_text(value, "created_at")
