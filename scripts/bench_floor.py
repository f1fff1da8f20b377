"""The floor of ``make bench-percall`` (issue 27): msgspec types for its two pages (not a benchmark).

The fastest typed JSON decoding in Python is ``msgspec.json.decode(content, type=...)``. These
types are written for the benchmark only, with the fields and types of the generated models for
the same bodies: strings, floats, ``datetime.date`` for the birthdate, ``IntEnum`` for the int
enums, optional fields defaulting to None, and ``Any`` for a property value (a union of every
JSON type in the spec). Imported only when msgspec is installed. :func:`attrs_twin` makes the
same types as slotted attrs classes, which msgspec also decodes into in C.
"""

from __future__ import annotations

import datetime
import types
import typing
from enum import IntEnum
from typing import Any

import attrs
import msgspec


class Gender(IntEnum):
    one, two, three, four, five = 1, 2, 3, 4, 5


class Agreed(IntEnum):
    no, yes = 0, 1


class Value(IntEnum):
    no, yes, unset = 0, 1, 2


class Address(msgspec.Struct):
    address1: str | None = None
    address2: str | None = None
    address3: str | None = None
    address4: str | None = None
    address5: str | None = None
    address6: str | None = None
    address7: str | None = None
    zip: str | None = None
    city: str | None = None
    country_code: str | None = None


class CustomAgreement(msgspec.Struct):
    agreement_id: str
    agreement_value: Value


class Agreement(msgspec.Struct):
    agreement_gtc: Agreed | None = None
    agreement_profiling: Agreed | None = None
    agreement_marketing_communication: Agreed | None = None
    custom_agreements: list[CustomAgreement] | None = None


class Consent(msgspec.Struct):
    consent_id: str
    consent_value: Value
    last_change: str | None = None


class PersonalInformation(msgspec.Struct):
    language_id: str
    salutation: str | None = None
    gender: Gender | None = None
    first_name: str | None = None
    last_name: str | None = None
    pre_nominals: str | None = None
    post_nominals: str | None = None
    birthdate: datetime.date | None = None
    email: str | None = None
    phone: str | None = None
    store_id: str | None = None
    photo_url: str | None = None
    address: Address | None = None
    agreement: Agreement | None = None
    consents: list[Consent] | None = None


class Customer(msgspec.Struct):
    personal_information: PersonalInformation
    customer_id: str | None = None
    doi_email: str | None = None
    doi_phone: str | None = None
    last_change: str | None = None
    state: Agreed | None = None


class CustomersData(msgspec.Struct):
    customers: list[Customer] | None = None
    total_items: int | None = None


class CustomersPage(msgspec.Struct):
    data: CustomersData | None = None


class PropertyRecord(msgspec.Struct):
    property_id: str
    property_record_id: str | None = None
    property_name: str | None = None
    property_value: Any = None
    last_change: str | None = None


class PurchaseItem(msgspec.Struct):
    product_id: str
    purchase_item_type_id: str
    price: float
    amount: float
    vat_rate: float
    purchase_item_id: str | None = None
    product_name: str | None = None
    product_group_id: str | None = None
    product_group_name: str | None = None
    product_brand_id: str | None = None
    product_brand_name: str | None = None
    external_id: str | None = None
    additional_properties: list[PropertyRecord] | None = None


class Purchase(msgspec.Struct):
    customer_id: str
    store_id: str
    external_purchase_id: str
    payment_time: str
    items_count: int
    type_id: str
    total_price: float
    currency_id: str
    cashdesk_number: str
    purchase_id: str | None = None
    purchase_items: list[PurchaseItem] | None = None
    card_number: str | None = None
    last_change: str | None = None
    property_records: list[PropertyRecord] | None = None


class PurchasesData(msgspec.Struct):
    purchases: list[Purchase] | None = None
    total_items: int | None = None


class PurchasesPage(msgspec.Struct):
    data: PurchasesData | None = None


# The same types as attrs classes (slotted, as the generated models are), built from the Structs
# above: msgspec decodes into attrs classes in C too, so this is the least a page of attrs objects
# costs msgspec to build, beside the Structs of the floor.
def attrs_twin(struct_type: type[msgspec.Struct], made: dict[type[Any], type[Any]] | None = None) -> type[Any]:
    """An attrs class with the fields, types and defaults of ``struct_type``, its nested Structs
    turned into their own twins."""
    made = {} if made is None else made
    if struct_type in made:
        return made[struct_type]
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": __name__}
    for info in msgspec.structs.fields(struct_type):
        annotations[info.name] = _twin_of(info.type, made)
        if info.default is not msgspec.NODEFAULT:
            namespace[info.name] = info.default
    twin = attrs.define(type(struct_type.__name__, (), namespace))
    made[struct_type] = twin
    return twin


def _twin_of(annotation: Any, made: dict[type[Any], type[Any]]) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return attrs_twin(annotation, made)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_twin_of(arg, made) for arg in args)]  # noqa: UP007 (built from a tuple)
    if origin is list:
        return list[_twin_of(args[0], made)]  # type: ignore[misc]
    return annotation
