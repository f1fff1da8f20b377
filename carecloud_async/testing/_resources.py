"""The stateful operations of the fake, one handler per operation id, and CareCloud's rules.

Every handler takes a :class:`~._fake.Call` (a request already valid against the spec) and returns
``(status, body)``; a refusal is raised as :class:`~._fake.Refusal`. The rules kept here are the
ones integrations depend on:

- Enterprise login gives a bearer token valid ``token_lifetime`` seconds (``valid_to`` local time);
  a Customer API device token is one per device and application (a new one ends the old one);
  customer logout is applied ``logout_delay`` seconds after it arrives.
- Sign-in: verify-credentials and the Customer API login take a stored customer's login and
  password only (one rule, :func:`_signed_in_customer`); search-customers and
  check-registration-ability answer from the stored customers.
- A PUT replaces the whole record (fields left out are gone); every write sets ``last_change``
  (one-second resolution, project time).
- Cards: a card is assigned by a PUT of the whole card with ``customer_id`` (a second card of a
  type too); assign-free-card and validate-free-card refuse a customer who already has a card of
  that type.
- send-purchase: ``bill_id`` is unique (400 ``already_exists``); a cancellation has
  ``canceled`` true, a new ``bill_id`` and ``bill_number`` = the original ``bill_id`` of a purchase
  sent before; after accept-payment, ``total_price`` = items - points value - credit, and the
  payment recap names the points and credit accepted.
- ``POST /events``: ``external_id`` is unique per event type (400 ``relation_already_exists``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ._state import Call, DeviceSession, Refusal, bad_request, error_body, not_found

__all__ = ["HANDLERS"]

Answer = tuple[int, Any]
HANDLERS: dict[str, Callable[[Call], Answer]] = {}

_MONEY_TOLERANCE = 0.005


def handles(*operation_ids: str) -> Callable[[Callable[[Call], Answer]], Callable[[Call], Answer]]:
    def register(function: Callable[[Call], Answer]) -> Callable[[Call], Answer]:
        for operation_id in operation_ids:
            HANDLERS[operation_id] = function
        return function

    return register


def _page(call: Call, items: list[dict[str, Any]], key: str) -> Answer:
    key = call.operation.list_key or key
    if call.interface == "customer":
        # The Customer API serves one customer's data: a list holds only the logged-in customer's
        # records (none before a login); lists of shared things (stores, card types) are whole.
        items = [item for item in items if "customer_id" not in item or item["customer_id"] == call.customer_id]
    offset = int(call.query.get("offset", 0))
    count = int(call.query.get("count", 100))
    return 200, {"data": {key: copy.deepcopy(items[offset : offset + count]), "total_items": len(items)}}


def _data(value: Any, status: int = 200) -> Answer:
    return status, {"data": copy.deepcopy(value)}


def _own(call: Call, record: dict[str, Any], resource: str, record_id: str) -> Answer:
    """One record; on the Customer API only the logged-in customer's (another's is not found)."""
    if call.interface == "customer" and record.get("customer_id") not in (None, call.customer_id):
        raise not_found(resource, record_id)
    return _data(record)


def _customer(call: Call, customer_id: str | None = None) -> dict[str, Any]:
    customer_id = customer_id or call.path["customer_id"]
    found = call.fake.customers.get(customer_id)
    if found is None:
        raise not_found("customers", customer_id)
    return found


# ---------------------------------------------------------------------- Enterprise login


@handles("postUserLogin")
def user_login(call: Call) -> Answer:
    body = call.body or {}
    known = call.fake.users.get(body.get("login", ""))
    if known is None or known != (body.get("password"), body.get("user_external_application_id")):
        # The spec declares no 401 for login: a refused login is a 400 naming the credentials.
        raise bad_request("login", "not_found", "no user with this login, password and application")
    token = call.fake.new_id() + call.fake.new_id()
    expires_at = call.fake.now() + call.fake.token_lifetime
    call.fake.bearer_tokens[token] = (body["login"], expires_at)
    return _data({"bearer_token": token, "valid_to": call.fake.local_time(expires_at)})


@handles("postUserLogout")
def user_logout(call: Call) -> Answer:
    return 204, None


# ---------------------------------------------------------------------- Customer API tokens


@handles("postToken")
def create_token(call: Call) -> Answer:
    body = call.body
    device_id, app = body["device"]["device_id"], body["external_application_id"]
    fake = call.fake
    for token_id, session in list(fake.sessions.items()):
        if session.device_id == device_id and session.external_application_id == app:
            del fake.sessions[token_id]  # a new token for the device ends the old one
    token_id = fake.new_id()
    fake.sessions[token_id] = DeviceSession(token_id, device_id, app)
    return _data({"token_id": token_id}, 201)


def _own_session(call: Call) -> DeviceSession:
    session = call.fake.session(call.path["token_id"])
    if session is None or call.token_id != session.token_id:
        raise not_found("tokens", call.path["token_id"])
    return session


@handles("putToken")
def update_token(call: Call) -> Answer:
    _own_session(call)
    return 204, None


def _signed_in_customer(call: Call) -> dict[str, Any]:
    """The customer whose stored login (``login_type``: e-mail, phone or card number) and password
    the body names. Anything else is 400 ``not_found`` on ``login_value``, the same for a wrong
    password and an unknown login (the spec documents no error of its own for either)."""
    body = call.body
    customer = call.fake.customers.find_login(body["login_type"], body["login_value"], call.fake.cards)
    if customer is None or call.fake.customers.passwords.get(customer["customer_id"]) != body["password"]:
        raise bad_request("login_value", "not_found", "no customer with this login and password")
    return customer


@handles("postTokenLogin")
def customer_login(call: Call) -> Answer:
    session = _own_session(call)
    customer = _signed_in_customer(call)
    session.customer_id, session.logout_at = customer["customer_id"], None
    return _data({"customer_id": customer["customer_id"]})


@handles("postTokenTestCustomerLogin")
def test_customer_login(call: Call) -> Answer:
    # The spec: logs the project's test customer account in; which one that is is the project's
    # setting, in the fake ``customers.test_customer_id`` (None: the first stored customer). No
    # such customer is 404.
    session = _own_session(call)
    customers = call.fake.customers
    customer_id = customers.test_customer_id or next((c["customer_id"] for c in customers), None)
    if customer_id is None or customer_id not in customers:
        raise not_found("customers", customer_id or "test-customer")
    session.customer_id, session.logout_at = customer_id, None
    return _data({"customer_id": customer_id})


@handles("postCustomerVerifyCredentials")
def verify_credentials(call: Call) -> Answer:
    # The Enterprise API's sign-in check (an e-shop's login form): the customer login's rule,
    # without a session (CareCloud keeps none for it).
    return _data({"customer_id": _signed_in_customer(call)["customer_id"]})


@handles("postTokenLogout")
def customer_logout(call: Call) -> Answer:
    session = _own_session(call)
    if call.fake.logout_delay > 0:
        session.logout_at = call.fake.now() + call.fake.logout_delay
    else:
        session.customer_id, session.logout_at = None, None
    return 204, None


# ---------------------------------------------------------------------- customers

_CUSTOMER_FILTERS = ("email", "phone", "first_name", "last_name", "birthdate")


@handles("getCustomers")
def list_customers(call: Call) -> Answer:
    q = call.query
    found = []
    for customer in call.fake.customers:
        info = customer["personal_information"]
        if any(name in q and info.get(name) != q[name] for name in _CUSTOMER_FILTERS):
            continue
        if "email_list[]" in q and info.get("email") not in q["email_list[]"]:
            continue
        if "customer_ids[]" in q and customer["customer_id"] not in q["customer_ids[]"]:
            continue
        if "customer_source_id" in q and not call.fake.source_records.where(
            customer_id=customer["customer_id"], customer_source_id=q["customer_source_id"]
        ):
            continue
        found.append(customer)
    return _page(call, found, "customers")


@handles("getCustomer")
def get_customer(call: Call) -> Answer:
    return _data(_customer(call))


_SEARCH_FIELDS = ("first_name", "last_name", "birthdate", "card_number")


def _iso_date(text: str) -> str:
    """``DD.MM.YYYY`` as ``YYYY-MM-DD`` (search-customers takes both); anything else as given."""
    parts = text.split(".")
    if len(parts) != 3:
        return text
    day, month, year = parts
    return f"{year}-{month}-{day}"


@handles("getCustomerSearch")
def search_customers(call: Call) -> Answer:
    # The spec: strict mode makes every parameter required, and the resource answers strict
    # (100 %) matches only; the fake matches the parameters given on the customers it holds.
    q = call.query
    if q.get("mode") == "strict":
        missing = [name for name in _SEARCH_FIELDS if not q.get(name)]
        if missing:
            params = [
                {"name": name, "reason": "required", "message": "strict mode makes every search parameter required"}
                for name in missing
            ]
            raise Refusal(400, error_body("Bad Request", "Invalid parameters", {"invalid_params": params}))
    wanted = {name: q[name] for name in ("first_name", "last_name") if q.get(name)}
    if q.get("birthdate"):
        wanted["birthdate"] = _iso_date(q["birthdate"])
    found = []
    for customer in call.fake.customers:
        info = customer["personal_information"]
        if any(info.get(name) != value for name, value in wanted.items()):
            continue
        if q.get("card_number") and not call.fake.cards.where(
            card_number=q["card_number"], customer_id=customer["customer_id"]
        ):
            continue
        if wanted or q.get("card_number"):
            found.append({"customer_id": customer["customer_id"], "match": 100})
    return _data({"strict": found})


def _stored_customer(fake: Any, sent: dict[str, Any]) -> dict[str, Any]:
    # Read-only fields are the server's: kept from what it holds, never taken from the request.
    record = copy.deepcopy(sent)
    for name in ("customer_id", "last_change", "doi_email", "doi_phone"):
        record.pop(name, None)
    record.setdefault("state", 1)
    return record


def _contact_taken(call: Call, name: str, value: Any, except_id: str | None = None) -> bool:
    """Whether a customer (other than ``except_id``) has this e-mail or phone."""
    return any(
        other["customer_id"] != except_id and other["personal_information"].get(name) == value
        for other in call.fake.customers
    )


def _check_unique_contact(call: Call, info: dict[str, Any], except_id: str | None = None) -> None:
    for name in ("email", "phone"):
        value = info.get(name)
        if value and _contact_taken(call, name, value, except_id):
            raise bad_request(name, "already_exists", f"another customer has this {name}")


@handles("postCustomersCheckRegistrationAbility")
def check_registration_ability(call: Call) -> Answer:
    # False exactly when a registration with this e-mail or phone would be refused already_exists.
    return _data({"registration_ability": not _contact_taken(call, call.body["type"], call.body["value"])})


@handles("postCustomer")
def create_customer(call: Call) -> Answer:
    body = call.body
    _check_unique_contact(call, body["customer"]["personal_information"])
    record = call.fake.customers.add(_stored_customer(call.fake, body["customer"]))
    if body.get("password"):
        call.fake.customers.passwords[record["customer_id"]] = body["password"]
    source = dict(body["customer_source"])
    source["customer_id"] = record["customer_id"]
    call.fake.source_records.add(source)
    for property_record in body.get("property_records") or ():
        call.fake.property_records.add({**property_record, "customer_id": record["customer_id"]})
    if call.interface == "customer" and body["autologin"] and call.token_id:
        session = call.fake.session(call.token_id)
        if session is not None:  # a registration from the app logs the new customer in
            session.customer_id, session.logout_at = record["customer_id"], None
    return _data({"customer_id": record["customer_id"]}, 201)


@handles("putCustomer")
def replace_customer(call: Call) -> Answer:
    old = _customer(call)
    body = call.body
    _check_unique_contact(call, body["customer"]["personal_information"], old["customer_id"])
    record = _stored_customer(call.fake, body["customer"])
    record["state"] = old.get("state", 1)  # read-only: the server's
    call.fake.customers.replace(old["customer_id"], record)  # the whole record: what is left out is gone
    if body.get("password"):
        call.fake.customers.passwords[old["customer_id"]] = body["password"]
    return 204, None


@handles("getCustomerSourceRecords")
def find_source_records(call: Call) -> Answer:
    q = call.query
    found = call.fake.source_records.where(
        customer_id=q.get("customer_id"),
        external_id=q.get("external_id"),
        customer_source_id=q.get("customer_source_id"),
    )
    if "external_ids[]" in q:
        found = [r for r in found if r.get("external_id") in q["external_ids[]"]]
    return _page(call, found, "customer_source_records")


@handles("getSubCustomerSource")
def list_source_records(call: Call) -> Answer:
    _customer(call)
    q = call.query
    found = call.fake.source_records.where(
        customer_id=call.path["customer_id"],
        external_id=q.get("external_id"),
        customer_source_id=q.get("customer_source_id"),
    )
    if "external_ids[]" in q:
        found = [r for r in found if r.get("external_id") in q["external_ids[]"]]
    return _page(call, found, "customer_source_records")


@handles("postSubCustomerSource")
def add_source_record(call: Call) -> Answer:
    _customer(call)
    sent = call.body["customer_source_record"]
    external_id = sent.get("external_id")
    if external_id and call.fake.source_records.where(
        customer_source_id=sent["customer_source_id"], external_id=external_id
    ):
        raise bad_request("external_id", "already_exists", "this source already has a customer with this external id")
    record = {k: v for k, v in sent.items() if k not in ("customer_source_record_id", "last_change")}
    record["customer_id"] = call.path["customer_id"]
    added = call.fake.source_records.add(record)
    return _data({"customer_source_record_id": added["customer_source_record_id"]}, 201)


def _sub_records(call: Call, table: Any) -> list[dict[str, Any]]:
    _customer(call)
    return [dict(r.items()) for r in table.where(customer_id=call.path["customer_id"])]


def _answer_record(record: dict[str, Any], drop: tuple[str, ...] = ("customer_id",)) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in drop}


@handles("getSubCustomerProperties")
def list_property_records(call: Call) -> Answer:
    records = [_answer_record(r) for r in _sub_records(call, call.fake.property_records)]
    return _page(call, records, "property_records")


@handles("postSubCustomerProperties")
def add_property_record(call: Call) -> Answer:
    _customer(call)
    sent = call.body["property_record"]
    if call.fake.property_records.where(customer_id=call.path["customer_id"], property_id=sent["property_id"]):
        raise bad_request("property_id", "already_exists", "the customer already has a record of this property")
    record = {"property_id": sent["property_id"], "customer_id": call.path["customer_id"]}
    if "property_value" in sent:
        record["property_value"] = sent["property_value"]
    added = call.fake.property_records.add(record)
    return _data({"property_record_id": added["property_record_id"]}, 201)


@handles("postSubCustomerPropertiesBatch")
def write_property_records(call: Call) -> Answer:
    # The spec: "In case of an existing property record, CareCloud APIs will update this record";
    # a record of a property the customer has none of is added.
    _customer(call)
    table = call.fake.property_records
    for sent in call.body["property_records"]:
        record = {"property_id": sent["property_id"], "customer_id": call.path["customer_id"]}
        if "property_value" in sent:
            record["property_value"] = sent["property_value"]
        found = table.where(customer_id=call.path["customer_id"], property_id=sent["property_id"])
        if found:
            table.replace(found[0]["property_record_id"], record)
        else:
            table.add(record)
    return 204, None


def _customer_record(call: Call, table: Any, id_name: str, resource: str) -> dict[str, Any]:
    _customer(call)
    record = table.get(call.path[id_name])
    if record is None or record.get("customer_id") != call.path["customer_id"]:
        raise not_found(resource, call.path[id_name])
    return record  # type: ignore[no-any-return]


@handles("putSubCustomerProperty")
def replace_property_record(call: Call) -> Answer:
    table = call.fake.property_records
    _customer_record(call, table, "property_record_id", "property-records")
    sent = call.body["property_record"]
    record = {"property_id": sent["property_id"], "customer_id": call.path["customer_id"]}
    if "property_value" in sent:
        record["property_value"] = sent["property_value"]
    table.replace(call.path["property_record_id"], record)
    return 204, None


@handles("deleteSubCustomerProperty")
def delete_property_record(call: Call) -> Answer:
    table = call.fake.property_records
    _customer_record(call, table, "property_record_id", "property-records")
    table.remove(call.path["property_record_id"])
    return 204, None


@handles("getSubCustomerInterests")
def list_interest_records(call: Call) -> Answer:
    return _page(call, _sub_records(call, call.fake.interest_records), "interest_records")


@handles("postSubCustomerInterest")
def add_interest_record(call: Call) -> Answer:
    _customer(call)
    sent = call.body["interest_record"]
    if call.fake.interest_records.where(customer_id=call.path["customer_id"], interest_id=sent["interest_id"]):
        raise bad_request("interest_id", "already_exists", "the customer already has this interest")
    added = call.fake.interest_records.add(
        {"interest_id": sent["interest_id"], "customer_id": call.path["customer_id"]}
    )
    return _data({"interest_record_id": added["interest_record_id"]}, 201)


@handles("putSubCustomerInterest")
def replace_interest_record(call: Call) -> Answer:
    table = call.fake.interest_records
    _customer_record(call, table, "interest_record_id", "interest-records")
    sent = call.body["interest_record"]
    table.replace(
        call.path["interest_record_id"], {"interest_id": sent["interest_id"], "customer_id": call.path["customer_id"]}
    )
    return 204, None


@handles("deleteSubCustomerInterest")
def delete_interest_record(call: Call) -> Answer:
    table = call.fake.interest_records
    _customer_record(call, table, "interest_record_id", "interest-records")
    table.remove(call.path["interest_record_id"])
    return 204, None


# ---------------------------------------------------------------------- cards


def _card_filters(call: Call, cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    q = call.query
    for name in ("customer_id", "card_number", "card_type_id", "state"):
        if name in q:
            cards = [c for c in cards if c.get(name) == q[name]]
    if "card_number_list[]" in q:
        cards = [c for c in cards if c.get("card_number") in q["card_number_list[]"]]
    return cards


@handles("getCards")
def list_cards(call: Call) -> Answer:
    return _page(call, _card_filters(call, list(call.fake.cards)), "cards")


@handles("getSubCustomerCards")
def list_customer_cards(call: Call) -> Answer:
    _customer(call)
    return _page(call, _card_filters(call, call.fake.cards.of_customer(call.path["customer_id"])), "cards")


@handles("getCard")
def get_card(call: Call) -> Answer:
    card = call.fake.cards.get(call.path["card_id"])
    if card is None:
        raise not_found("cards", call.path["card_id"])
    return _own(call, card, "cards", call.path["card_id"])


def _check_card(call: Call, card: dict[str, Any], card_id: str | None) -> None:
    fake = call.fake
    if card["card_type_id"] not in fake.cards.types:
        raise bad_request("card_type_id", "not_found", "no such card type")
    for other in fake.cards.where(card_number=card["card_number"]):
        if other["card_id"] != card_id:
            raise bad_request("card_number", "already_exists", "another card has this number")
    customer_id = card.get("customer_id")
    if customer_id:
        # No one-card-per-type rule here: the spec limits assign-free-card to one card of a type per
        # customer and names PUT /cards/{card_id} as the way for projects that allow several.
        _customer(call, customer_id)


def _stored_card(sent: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sent.items() if k not in ("card_id", "last_change")}


@handles("postCard")
def create_card(call: Call) -> Answer:
    card = _stored_card(call.body["card"])
    _check_card(call, card, None)
    return _data({"card_id": call.fake.cards.add(card)["card_id"]}, 201)


@handles("putCard")
def replace_card(call: Call) -> Answer:
    card_id = call.path["card_id"]
    if card_id not in call.fake.cards:
        raise not_found("cards", card_id)
    card = _stored_card(call.body["card"])
    _check_card(call, card, card_id)
    call.fake.cards.replace(card_id, card)  # the whole card: a customer_id left out unassigns it
    return 204, None


def _free_card(call: Call, card_number: str) -> dict[str, Any] | None:
    for card in call.fake.cards.where(card_number=card_number):
        if not card.get("customer_id"):
            return card
    return None


@handles("postValidateFreeCard")
def validate_free_card(call: Call) -> Answer:
    card = _free_card(call, call.body["card_number"])
    free = card is not None
    customer_id = call.customer_id if call.interface == "customer" else None
    if card is not None and customer_id and call.fake.cards.of_customer(customer_id, card["card_type_id"]):
        free = False  # the logged-in customer already has a card of this type
    return _data({"is_free_to_use": free})


@handles("postAssignCard")
def assign_free_card(call: Call) -> Answer:
    body = call.body
    fake = call.fake
    customer_id, type_id = body["customer_id"], body["card_type_id"]
    _customer(call, customer_id)
    if type_id not in fake.cards.types:
        raise bad_request("card_type_id", "not_found", "no such card type")
    if fake.cards.of_customer(customer_id, type_id):
        raise bad_request("customer_id", "already_exists", "the customer already has a card of this type")
    if body.get("card_number"):
        card = _free_card(call, body["card_number"])
        if card is None or card["card_type_id"] != type_id:
            raise bad_request("card_number", "not_found", "no free card of this type with this number")
    else:
        card = next((c for c in fake.cards.where(card_type_id=type_id) if not c.get("customer_id")), None)
        if card is None:
            raise bad_request("card_type_id", "not_found", "no free card of this type is left")
    card["customer_id"] = customer_id
    card["last_change"] = fake.last_change_now()
    return _data({"card_id": card["card_id"]})


@handles("getCardTypes")
def list_card_types(call: Call) -> Answer:
    types = list(call.fake.cards.types)
    if "name" in call.query:
        types = [t for t in types if t.get("name") == call.query["name"]]
    return _page(call, types, "card_types")


@handles("getCardType")
def get_card_type(call: Call) -> Answer:
    card_type = call.fake.cards.types.get(call.path["card_type_id"])
    if card_type is None:
        raise not_found("card-types", call.path["card_type_id"])
    return _data(card_type)


@handles("getSubCardTypeCards")
def list_cards_of_type(call: Call) -> Answer:
    get_card_type(call)
    return _page(call, _card_filters(call, call.fake.cards.where(card_type_id=call.path["card_type_id"])), "cards")


# ---------------------------------------------------------------------- stores


@handles("getStores")
def list_stores(call: Call) -> Answer:
    return _page(call, list(call.fake.stores), "stores")


@handles("getStore")
def get_store(call: Call) -> Answer:
    store = call.fake.stores.get(call.path["store_id"])
    if store is None:
        raise not_found("stores", call.path["store_id"])
    return _data(store)


@handles("postStore")
def create_store(call: Call) -> Answer:
    store = {k: v for k, v in call.body["store"].items() if k not in ("store_id", "last_change")}
    return _data({"store_id": call.fake.stores.add(store)["store_id"]}, 201)


@handles("putStore")
def replace_store(call: Call) -> Answer:
    get_store(call)
    store = {k: v for k, v in call.body["store"].items() if k not in ("store_id", "last_change")}
    call.fake.stores.replace(call.path["store_id"], store)
    return 204, None


@handles("postCardType")
def create_card_type(call: Call) -> Answer:
    sent = {k: v for k, v in call.body["card_type"].items() if k not in ("card_type_id", "text_id")}
    return _data({"card_type_id": call.fake.cards.types.add(sent)["card_type_id"]}, 201)


@handles("putCardType")
def replace_card_type(call: Call) -> Answer:
    old = get_card_type(call)[1]["data"]
    sent = {k: v for k, v in call.body["card_type"].items() if k not in ("card_type_id", "text_id")}
    if "text_id" in old:
        sent["text_id"] = old["text_id"]
    call.fake.cards.types.replace(call.path["card_type_id"], sent)
    return 204, None


# ---------------------------------------------------------------------- points and credits


@handles("getPoints", "getSubCustomerPoints")
def list_points(call: Call) -> Answer:
    q = call.query
    customer_id = call.path.get("customer_id") or q.get("customer_id")
    if "customer_id" in call.path:
        _customer(call)
    return _page(call, call.fake.points.where(customer_id=customer_id, point_type_id=q.get("point_type_id")), "points")


@handles("getCredits")
def list_credits(call: Call) -> Answer:
    q = call.query
    found = call.fake.credits.where(customer_id=q.get("customer_id"))
    if "credit_type_id[]" in q:
        found = [r for r in found if r.get("credit_type_id") in q["credit_type_id[]"]]
    return _page(call, found, "credits")


@handles("getPoint", "getCredit")
def get_movement(call: Call) -> Answer:
    table = call.fake.points if "point_id" in call.path else call.fake.credits
    record_id = call.path.get("point_id") or call.path["credit_id"]
    record = table.get(record_id)
    if record is None:
        raise not_found(f"{table.kind}s", record_id)
    return _own(call, record, f"{table.kind}s", record_id)


@handles("postPointsAssign", "postCreditDeposit")
def grant(call: Call) -> Answer:
    body = call.body
    table = call.fake.points if call.operation.operation_id == "postPointsAssign" else call.fake.credits
    _customer(call, body["customer_id"])
    if body["amount"] <= 0:
        raise bad_request("amount", "not_allowed_value", "must be more than 0")
    type_id = body.get(f"{table.kind}_type_id") or "default"
    record = table.grant(body["customer_id"], body["amount"], type_id=type_id, partner_id=body["partner_id"])
    return _data({table.id_field: record[table.id_field]}, 201)


@handles("postPointsRedemption", "postCreditReduction")
def reduce(call: Call) -> Answer:
    body = call.body
    table = call.fake.points if call.operation.operation_id == "postPointsRedemption" else call.fake.credits
    _customer(call, body["customer_id"])
    if body["amount"] <= 0:
        raise bad_request("amount", "not_allowed_value", "must be more than 0")
    type_id = body.get(f"{table.kind}_type_id") or "default"
    record = table.take(body["customer_id"], body["amount"], type_id=type_id, partner_id=body["partner_id"])
    if record is None:
        raise bad_request("amount", "not_allowed_value", f"more than the customer's {table.kind} balance")
    return _data({table.id_field: record[table.id_field]}, 201)


@handles("postPointsTransfer", "postCreditTransfer")
def transfer(call: Call) -> Answer:
    # The spec: the amount leaves the original holder and reaches the new one, both recorded in the
    # history; it names no refusal for a short balance, so the fake refuses it as reduce does.
    body = call.body
    table = call.fake.points if call.operation.operation_id == "postPointsTransfer" else call.fake.credits
    original, new = body["original_customer_id"], body["new_customer_id"]
    _customer(call, original)
    _customer(call, new)
    if body["amount"] <= 0:
        raise bad_request("amount", "not_allowed_value", "must be more than 0")
    type_id, note = body[f"{table.kind}_type_id"], body.get("note")
    if table.take(original, body["amount"], type_id=type_id, note=note) is None:
        raise bad_request("amount", "not_allowed_value", f"more than the original holder's {table.kind} balance")
    table.grant(new, body["amount"], type_id=type_id, note=note)
    return 204, None


def _history_customer(call: Call) -> str:
    customer_id = call.query.get("customer_id") or call.customer_id
    if customer_id is None:
        raise bad_request("customer_id", "required")
    _customer(call, customer_id)
    return str(customer_id)


@handles("getPointHistory", "getCreditHistory")
def list_history(call: Call) -> Answer:
    # The customer's stored movements (and purchases paid with them) as history records
    # (BalanceRecords.history), filtered as
    # the spec's parameters say: partner, point type, a time interval, and a part of the operation
    # type or note (case-insensitive), the store (only purchases name one).
    q = call.query
    table = call.fake.points if call.operation.operation_id == "getPointHistory" else call.fake.credits
    found = table.history(_history_customer(call))
    kind = table.kind
    if q.get("partner_id"):
        found = [r for r in found if r["partner_id"] == q["partner_id"]]
    if q.get("point_type_id") and kind == "point":
        found = [r for r in found if r["point_type_id"] == q["point_type_id"]]
    if q.get("store_id"):
        found = [r for r in found if r.get("store_id") == q["store_id"]]
    time_field = f"{kind}_history_record_time"
    if q.get("time_from"):
        found = [r for r in found if r[time_field] >= str(q["time_from"]).replace("T", " ")]
    if q.get("time_to"):
        found = [r for r in found if r[time_field] <= str(q["time_to"]).replace("T", " ")]
    for part in ("type", "note"):
        wanted = q.get(f"{kind}_operation_{part}")
        if wanted:
            found = [r for r in found if str(wanted).lower() in r[f"{kind}_operation_{part}"].lower()]
    return _page(call, found, f"{kind}_history")


@handles("getWalletPointsExpiration", "getWalletCreditsExpiration")
def expiration_overview(call: Call) -> Answer:
    table = call.fake.points if call.operation.operation_id == "getWalletPointsExpiration" else call.fake.credits
    return _data(table.expiring(_history_customer(call), call.fake.local_time()))


@handles("getWalletPoints")
def points_overview(call: Call) -> Answer:
    customer_id = call.query.get("customer_id") or call.customer_id
    if customer_id is None:
        raise bad_request("customer_id", "required")
    _customer(call, customer_id)
    points = call.fake.points
    available = points.balance(customer_id)
    return _data(
        {
            "available_points": available,
            "earned_points": points.earned(customer_id),
            "redeemed_points": points.redeemed(customer_id),
            "available_points_money_value": [{"currency_id": "fake", "value": available * call.fake.point_value}],
        }
    )


@handles("getWalletCredits")
def credits_overview(call: Call) -> Answer:
    customer_id = call.query.get("customer_id") or call.customer_id
    if customer_id is None:
        raise bad_request("customer_id", "required")
    _customer(call, customer_id)
    credits_ = call.fake.credits
    return _data(
        {
            "available_credits": credits_.balance(customer_id),
            "earned_credits": credits_.earned(customer_id),
            "redeemed_credits": credits_.redeemed(customer_id),
            "split_by_currency": [],
        }
    )


# ---------------------------------------------------------------------- vouchers


@handles("getVouchers", "getSubCustomerVouchers")
def list_vouchers(call: Call) -> Answer:
    q = call.query
    customer_id = call.path.get("customer_id") or q.get("customer_id")
    if "customer_id" in call.path:
        _customer(call)
    found = call.fake.vouchers.where(customer_id=customer_id, code=q.get("code"))
    if "is_applied" in q:
        found = [v for v in found if bool(v.get("applied_date")) == q["is_applied"]]
    return _page(call, found, "vouchers")


def _voucher(call: Call) -> dict[str, Any]:
    voucher = call.fake.vouchers.get(call.path["voucher_id"])
    if voucher is None:
        raise not_found("vouchers", call.path["voucher_id"])
    return voucher


@handles("getVoucher")
def get_voucher(call: Call) -> Answer:
    return _own(call, _voucher(call), "vouchers", call.path["voucher_id"])


@handles("putVoucher")
def replace_voucher(call: Call) -> Answer:
    old = _voucher(call)
    record = {k: v for k, v in call.body["voucher"].items() if k not in ("voucher_id", "last_change", "created_at")}
    if "created_at" in old:
        record["created_at"] = old["created_at"]
    call.fake.vouchers.replace(old["voucher_id"], record)
    return 204, None


@handles("postVoucherApply")
def apply_voucher(call: Call) -> Answer:
    voucher = _voucher(call)
    if call.interface == "customer" and voucher.get("customer_id") != call.customer_id:
        raise not_found("vouchers", call.path["voucher_id"])
    if voucher.get("applied_date"):
        # The spec names no reason for this; the fake refuses a second use as a duplicate.
        raise bad_request("voucher_id", "already_exists", "the voucher was applied already")
    voucher["applied_date"] = call.body["date_applied"]
    if call.body.get("store_id"):
        voucher["store_id"] = call.body["store_id"]
    voucher["last_change"] = call.fake.last_change_now()
    return 204, None


@handles("postRewardCreateVoucher")
def create_reward_voucher(call: Call) -> Answer:
    # The spec: a new voucher of the customer from the reward's definition. The fake keeps no
    # rewards: any reward_id is taken, and the voucher has no ``reward`` (the spec's Reward needs
    # fields the fake does not know). The code is the one sent (one voucher per code: a second is
    # refused already_exists, the fake's choice, as accept-payment finds vouchers by code) or a new one.
    body = call.body
    _customer(call, body["customer_id"])
    code = body.get("code") or call.fake.new_id()[:10].upper()
    if call.fake.vouchers.where(code=code):
        raise bad_request("code", "already_exists", "a voucher with this code exists")
    record: dict[str, Any] = {
        "customer_id": body["customer_id"],
        "code": code,
        "created_at": call.fake.local_time(),
        "state": 1,
    }
    if body.get("note"):
        record["note"] = body["note"]
    return _data({"voucher_id": call.fake.vouchers.add(record)["voucher_id"]}, 201)


@handles("deleteVoucher")
def delete_voucher(call: Call) -> Answer:
    call.fake.vouchers.remove(_voucher(call)["voucher_id"])
    return 204, None


# ---------------------------------------------------------------------- purchases


def _buyer(call: Call, body: dict[str, Any]) -> str | None:
    if body.get("customer_id"):
        _customer(call, body["customer_id"])
        return str(body["customer_id"])
    if body.get("card_number"):
        for card in call.fake.cards.where(card_number=body["card_number"]):
            if card.get("customer_id"):
                return str(card["customer_id"])
        raise bad_request("card_number", "not_found", "no customer has this card")
    return None


def _items_total(bill: dict[str, Any]) -> float:
    return round(sum(float(item["paid_amount"]) for item in bill["bill_items"]), 6)


def _accepted_vouchers(call: Call, body: dict[str, Any], customer_id: str | None) -> list[dict[str, Any]]:
    # A benefit code names a voucher the fake holds, not applied yet and the buyer's (or nobody's):
    # the answer lists it with its value as the discount. Codes the fake holds no voucher for are
    # left out of the answer (the fake does not model rewards).
    items = body["bill"].get("bill_items") or [{}]
    found = []
    for code in body.get("benefit_codes") or ():
        for voucher in call.fake.vouchers.where(code=code):
            if not voucher.get("applied_date") and voucher.get("customer_id") in (None, "", customer_id):
                entry = {"code": code, "name": voucher.get("note") or code, "discount_value": voucher.get("value", 0.0)}
                if items[0].get("bill_item_id"):
                    entry["bill_item_id"] = items[0]["bill_item_id"]
                found.append(entry)
                break
    return found


@handles("postPurchaseAcceptPayment")
def accept_payment(call: Call) -> Answer:
    body = call.body
    fake = call.fake
    customer_id = _buyer(call, body)
    bill = body["bill"]
    price = float(bill["total_price"])
    points_used = credit_used = 0.0
    if customer_id is not None:
        if body.get("max_points"):
            affordable = price / fake.point_value if fake.point_value > 0 else 0.0
            points_used = round(min(float(body["max_points"]), fake.points.balance(customer_id), affordable), 2)
        if body.get("max_credit"):
            left = price - points_used * fake.point_value
            credit_used = round(max(0.0, min(float(body["max_credit"]), fake.credits.balance(customer_id), left)), 2)
    accepted = {
        "credit_points": points_used,
        "price_of_credit_points": round(points_used * fake.point_value, 2),
        "credit": credit_used,
        "credit_points_of_this_transaction": 0.0,
        "total_credit_points": fake.points.balance(customer_id) if customer_id else 0.0,
        "total_credit": fake.credits.balance(customer_id) if customer_id else 0.0,
        "vouchers": _accepted_vouchers(call, body, customer_id),
        "recommended_discounts": [],
        "messages": [],
    }
    fake.accepted_payments[bill["bill_id"]] = {**accepted, "customer_id": customer_id, "bill_total": price}
    return _data(accepted)


def _check_cancellation(call: Call, bill: dict[str, Any]) -> dict[str, Any]:
    original_id = bill.get("bill_number")
    if not original_id:
        raise bad_request("bill.bill_number", "required", "a cancellation names the original bill_id in bill_number")
    if original_id == bill["bill_id"]:
        raise bad_request("bill.bill_id", "already_exists", "a cancellation needs a bill_id of its own")
    original = next((p for p in call.fake.purchases if p["_bill"]["bill_id"] == original_id), None)
    if original is None:
        raise bad_request("bill.bill_number", "not_found", "no purchase was sent with this bill_id")
    if original["_bill"].get("canceled"):
        raise bad_request("bill.bill_number", "not_allowed_value", "a cancellation cannot be cancelled")
    if any(p["_bill"].get("canceled") and p["_bill"].get("bill_number") == original_id for p in call.fake.purchases):
        raise bad_request("bill.bill_number", "already_exists", "this purchase is cancelled already")
    return original


def _check_recap(call: Call, bill: dict[str, Any]) -> dict[str, Any] | None:
    accepted = call.fake.accepted_payments.get(bill["bill_id"])
    items = _items_total(bill)
    points_value = accepted["price_of_credit_points"] if accepted else 0.0
    credit = accepted["credit"] if accepted else 0.0
    expected = round(items - points_value - credit, 2)
    if abs(float(bill["total_price"]) - expected) > _MONEY_TOLERANCE:
        raise bad_request(
            "bill.total_price",
            "not_allowed_value",
            f"total_price must be the items' paid amounts less the points' value less the credit ({expected})",
        )
    if accepted and (accepted["credit_points"] or accepted["credit"]):
        recap = bill.get("payment_recap") or {}
        if abs(float(recap.get("credit_points") or 0) - accepted["credit_points"]) > _MONEY_TOLERANCE:
            raise bad_request("bill.payment_recap.credit_points", "not_allowed_value", "not the points accepted")
        if abs(float(recap.get("amount_for_credit") or 0) - accepted["credit"]) > _MONEY_TOLERANCE:
            raise bad_request("bill.payment_recap.amount_for_credit", "not_allowed_value", "not the credit accepted")
    return accepted


@handles("postPurchaseSend")
def send_purchase(call: Call) -> Answer:
    body = call.body
    fake = call.fake
    bill = body["bill"]
    if fake.purchase_of_bill(bill["bill_id"]) is not None:
        raise bad_request("bill_id", "already_exists", "a purchase with this bill_id was sent before")
    customer_id = _buyer(call, body)
    accepted = None
    if bill["canceled"]:
        _check_cancellation(call, bill)
    else:
        accepted = _check_recap(call, bill)
    if accepted and customer_id:
        paid = {"store_id": body["store_id"], "bill_id": bill["bill_id"], "purchase_value": accepted["bill_total"]}
        if not fake.points.spend_on_purchase(customer_id, accepted["credit_points"], **paid):
            raise bad_request("bill.payment_recap.credit_points", "not_allowed_value", "more than the balance")
        if not fake.credits.spend_on_purchase(customer_id, accepted["credit"], **paid):
            raise bad_request("bill.payment_recap.amount_for_credit", "not_allowed_value", "more than the balance")
    purchase = fake.record_purchase(
        bill["bill_id"],
        {
            "customer_id": customer_id or "",
            "store_id": body["store_id"],
            "cashdesk_number": str(body["cashdesk_number"]),
            "external_purchase_id": bill["bill_id"],
            "payment_time": bill["payment_time"],
            "items_count": len(bill["bill_items"]),
            "type_id": bill["purchase_type_id"],
            "total_price": float(bill["total_price"]),
            "currency_id": bill["currency_id"],
            "_bill": copy.deepcopy(bill),
        },
    )
    assert purchase is not None  # checked above, and a handler does not await in between
    if body.get("card_number"):
        purchase["card_number"] = body["card_number"]
    return _data({"purchase_id": purchase["purchase_id"]}, 201)


@handles("postPurchaseAssignCustomer")
def assign_customer(call: Call) -> Answer:
    # The spec: assigns the customer (customer_id, or the holder of card_number) to the purchase
    # sent with bill_id = external_purchase_id from that store. The fake awards no points for
    # purchases (it models no earning rules), so none are added here either. A purchase that has
    # another customer already is refused already_exists (the spec is silent: the fake's choice);
    # assigning its own customer again is answered 204 (a retry).
    body = call.body
    purchase = next(
        (
            p
            for p in call.fake.purchases.where(external_purchase_id=body["external_purchase_id"])
            if p["store_id"] == body["store_id"]
        ),
        None,
    )
    if purchase is None:
        raise bad_request("external_purchase_id", "not_found", "no purchase was sent with this bill_id to this store")
    customer_id = _buyer(call, body)
    if customer_id is None:
        raise bad_request("customer_id", "required", "customer_id or card_number is required")
    if purchase["customer_id"] not in ("", customer_id):
        raise bad_request("customer_id", "already_exists", "the purchase has another customer")
    purchase["customer_id"] = customer_id
    if body.get("card_number"):
        purchase["card_number"] = body["card_number"]
    purchase["last_change"] = call.fake.last_change_now()
    return 204, None


def _public_purchase(purchase: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in purchase.items() if not k.startswith("_")}


@handles("getPurchases", "getSubCustomerPurchases")
def list_purchases(call: Call) -> Answer:
    q = call.query
    customer_id = call.path.get("customer_id") or q.get("customer_id")
    if "customer_id" in call.path:
        _customer(call)
    found = call.fake.purchases.where(
        customer_id=customer_id, store_id=q.get("store_id"), external_purchase_id=q.get("external_purchase_id")
    )
    return _page(call, [_public_purchase(p) for p in found], "purchases")


def _purchase(call: Call) -> dict[str, Any]:
    """The stored purchase of the path (with its ``_bill``); on the Customer API only the
    logged-in customer's (another's is not found)."""
    purchase_id = call.path["purchase_id"]
    purchase = call.fake.purchases.get(purchase_id)
    if purchase is None:
        raise not_found("purchases", purchase_id)
    _own(call, _public_purchase(purchase), "purchases", purchase_id)
    return purchase


@handles("getPurchase")
def get_purchase(call: Call) -> Answer:
    return _data(_public_purchase(_purchase(call)))


@handles("getSubPurchaseItems")
def list_purchase_items(call: Call) -> Answer:
    # The bill's items as sent. The fake keeps no product catalogue: product_id is the item's
    # first PLU code (the spec: by default the product id of the global product list).
    purchase = _purchase(call)
    items = []
    for number, sent in enumerate(purchase["_bill"]["bill_items"], 1):
        item = {
            "purchase_item_id": f"{purchase['purchase_id']}-{number}",
            "product_id": sent["plu_ids"][0]["code"] if sent["plu_ids"] else "",
            "product_name": sent["plu_name"],
            "external_id": sent["bill_item_id"],
            "purchase_item_type_id": sent["purchase_item_type_id"],
            "price": float(sent["price"]),
            "amount": float(sent["quantity"]),
            "vat_rate": float(sent["vat_rate"]),
        }
        items.append(item)
    return _page(call, items, "purchase_items")


@handles("getSubPurchaseVouchers")
def list_purchase_vouchers(call: Call) -> Answer:
    # Vouchers created in relation to the purchase: the fake issues none for purchases (it models
    # no rewards), so the list is empty; an unknown purchase is 404.
    _purchase(call)
    return _page(call, [], "vouchers")


@handles("getPurchasePaymentSummary")
def purchase_payment_summary(call: Call) -> Answer:
    # From the payment recap sent (what accept-payment accepted and send-purchase spent). The
    # fake awards no points for purchases, so earned_points is 0; the vouchers used are the
    # stored vouchers whose codes the recap names.
    recap = _purchase(call)["_bill"].get("payment_recap") or {}
    points = float(recap.get("credit_points") or 0)
    codes = [v.get("code") for v in recap.get("vouchers") or () if v.get("code")]
    used = [v for code in codes for v in call.fake.vouchers.where(code=code)]
    return _data(
        {
            "earned_points": 0.0,
            "used_credits": float(recap.get("amount_for_credit") or 0),
            "used_points": points,
            "used_points_total": points,
            "used_vouchers": used,
        }
    )


# ---------------------------------------------------------------------- events


@handles("postEvent")
def create_event(call: Call) -> Answer:
    sent = call.body["event"]
    fake = call.fake
    customer_id = sent.get("customer_id")
    kind, wanted = sent.get("customer_identifier_type"), sent.get("customer_identifier_value")
    if not customer_id and kind in ("email", "phone"):
        match = next((c for c in fake.customers if c["personal_information"].get(kind) == wanted), None)
        customer_id = match["customer_id"] if match else None
    elif not customer_id and kind == "external_id" and isinstance(wanted, dict):
        source = fake.source_records.where(
            customer_source_id=wanted["customer_source_id"], external_id=wanted["external_id"]
        )
        customer_id = source[0]["customer_id"] if source else None
    if not customer_id:
        raise bad_request("customer_id", "required", "the event names no known customer")
    _customer(call, customer_id)
    key = (sent["event_type_id"], sent["external_id"], sent.get("secondary_external_id"))
    for other in fake.events:
        if (other["event_type_id"], other["external_id"], other.get("secondary_external_id")) == key:
            raise bad_request(
                "event_id_event_type_id_customer_id_external_id_secondary_external_id",
                "relation_already_exists",
                "an event with this external_id exists",
            )
    record = {
        k: v
        for k, v in sent.items()
        if k not in ("event_id", "state", "customer_identifier_type", "customer_identifier_value")
    }
    record.update(customer_id=customer_id, state=1)
    record.setdefault("created_at", fake.local_time())
    if call.body.get("property_records"):
        record["property_records"] = [
            {
                "property_id": r["property_id"],
                **({"property_value": r["property_value"]} if "property_value" in r else {}),
            }
            for r in call.body["property_records"]
        ]
    added = fake.events.add(record)
    return _data({"event_id": added["event_id"]}, 201)


def _public_event(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "last_change"}


@handles("getEvents", "getSubCustomerEvents")
def list_events(call: Call) -> Answer:
    q = call.query
    customer_id = call.path.get("customer_id") or q.get("customer_id")
    if "customer_id" in call.path:
        _customer(call)
    found = call.fake.events.where(
        customer_id=customer_id, event_type_id=q.get("event_type_id"), external_id=q.get("external_id")
    )
    if "event_type_ids[]" in q:
        found = [e for e in found if e["event_type_id"] in q["event_type_ids[]"]]
    key = "customer_events" if "customer_id" in call.path else "events"
    return _page(call, [_public_event(e) for e in found], key)


@handles("getEvent")
def get_event(call: Call) -> Answer:
    event = call.fake.events.get(call.path["event_id"])
    if event is None:
        raise not_found("events", call.path["event_id"])
    return _own(call, _public_event(event), "events", call.path["event_id"])
