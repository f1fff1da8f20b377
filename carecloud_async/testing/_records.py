"""The fake's stored records: readable, seedable, with factories for the common ones.

Records are kept as the API answers them (plain JSON dictionaries, spec field names), one
:class:`Records` table per resource. Factories fill what a test does not care about:

    customer = fake.customers.create(email="jane@example.com", password="pw")   # a Customer dict
    card = fake.cards.create(customer_id=customer["customer_id"])               # of the default card type
    fake.points.grant(customer["customer_id"], 120)                             # a points balance
    fake.customers[customer["customer_id"]]["personal_information"]["email"]   # read what is stored
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "BalanceRecords",
    "CardRecords",
    "CustomerRecords",
    "Records",
    "StoreRecords",
]


class Records:
    """One resource's records by id (a dict-like view; what the fake answers from).

    ``records[id]`` reads one (``KeyError`` if absent), ``records.add(record)`` stores one as given
    (its id field filled in when missing), ``list(records)`` gives every record in insertion order.
    """

    def __init__(self, id_field: str, new_id: Callable[[], str], stamp: Callable[[], str] | None) -> None:
        self.id_field = id_field
        self._new_id = new_id
        self._stamp = stamp
        self._items: dict[str, dict[str, Any]] = {}

    def __getitem__(self, record_id: str) -> dict[str, Any]:
        return self._items[record_id]

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._items

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def get(self, record_id: str) -> dict[str, Any] | None:
        """The record with ``record_id``, or None."""
        return self._items.get(record_id)

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        """Store ``record`` (its id filled in if missing, ``last_change`` stamped) and return it."""
        record.setdefault(self.id_field, self._new_id())
        if self._stamp is not None:
            record["last_change"] = self._stamp()
        self._items[record[self.id_field]] = record
        return record

    def replace(self, record_id: str, record: dict[str, Any]) -> dict[str, Any]:
        """Replace the whole record (a PUT: fields left out are gone), stamping ``last_change``."""
        record[self.id_field] = record_id
        if self._stamp is not None:
            record["last_change"] = self._stamp()
        self._items[record_id] = record
        return record

    def remove(self, record_id: str) -> None:
        """Delete the record (``KeyError`` if absent)."""
        del self._items[record_id]

    def where(self, **fields: Any) -> list[dict[str, Any]]:
        """The records whose top-level fields equal ``fields`` (``None`` values are ignored)."""
        wanted = {name: value for name, value in fields.items() if value is not None}
        return [r for r in self._items.values() if all(r.get(k) == v for k, v in wanted.items())]


class CustomerRecords(Records):
    """Customers (spec schema ``Customer``), with their passwords kept apart from the record."""

    def __init__(self, new_id: Callable[[], str], stamp: Callable[[], str]) -> None:
        super().__init__("customer_id", new_id, stamp)
        self.passwords: dict[str, str] = {}
        # The customer login-test-customer logs in (None: the first stored customer).
        self.test_customer_id: str | None = None
        self._numbers = itertools.count(1)

    def create(
        self,
        *,
        email: str | None = None,
        phone: str | None = None,
        first_name: str = "Jane",
        last_name: str = "Doe",
        language_id: str = "en",
        password: str | None = None,
        **personal_information: Any,
    ) -> dict[str, Any]:
        """A new active customer (``state`` 1); ``email`` defaults to a unique one.

        customer = fake.customers.create(email="jane@example.com", password="pw")
        customer["customer_id"]
        """
        number = next(self._numbers)
        info: dict[str, Any] = {
            "first_name": first_name,
            "last_name": last_name,
            "email": email if email is not None else f"customer{number}@example.com",
            "language_id": language_id,
            **personal_information,
        }
        if phone is not None:
            info["phone"] = phone
        record = self.add({"personal_information": info, "state": 1})
        if password is not None:
            self.passwords[record["customer_id"]] = password
        return record

    def find_login(self, login_type: str, login_value: str, cards: Records) -> dict[str, Any] | None:
        """The customer a Customer API login names (``email``, ``phone`` or ``card`` number)."""
        if login_type == "card":
            for card in cards:
                if card.get("card_number") == login_value and card.get("customer_id"):
                    return self.get(card["customer_id"])
            return None
        for customer in self:
            if customer["personal_information"].get(login_type) == login_value:
                return customer
        return None


class CardRecords(Records):
    """Cards (spec schema ``Card``) and card types (``CardType``)."""

    def __init__(self, new_id: Callable[[], str], stamp: Callable[[], str]) -> None:
        super().__init__("card_id", new_id, stamp)
        self.types = Records("card_type_id", new_id, None)  # the spec's CardType has no last_change
        self._numbers = itertools.count(1000000000001)

    def create_type(self, name: str = "Loyalty card", prefix: str = "1000") -> dict[str, Any]:
        """A new card type (``CardType``)."""
        return self.types.add({"name": name, "prefix": prefix, "text_id": name.lower().replace(" ", "_")})

    def default_type(self) -> dict[str, Any]:
        """The first card type, made when there is none."""
        return next(iter(self.types), None) or self.create_type()

    def create(
        self,
        *,
        customer_id: str | None = None,
        card_type_id: str | None = None,
        card_number: str | None = None,
        state: int = 1,
        **fields: Any,
    ) -> dict[str, Any]:
        """A new card: free (no ``customer_id``) or assigned, of ``card_type_id`` (default: the
        first card type). ``card_number`` defaults to a unique one.

            free = fake.cards.create()
            mine = fake.cards.create(customer_id=customer["customer_id"])
        """
        record: dict[str, Any] = {
            "card_type_id": card_type_id or self.default_type()["card_type_id"],
            "card_number": card_number or str(next(self._numbers)),
            "state": state,
            **fields,
        }
        if customer_id is not None:
            record["customer_id"] = customer_id
        return self.add(record)

    def of_customer(self, customer_id: str, card_type_id: str | None = None) -> list[dict[str, Any]]:
        """The cards assigned to ``customer_id`` (of one card type if given)."""
        return self.where(customer_id=customer_id, card_type_id=card_type_id)


class StoreRecords(Records):
    """Stores (spec schema ``Store``)."""

    def create(self, name: str = "Main store", **fields: Any) -> dict[str, Any]:
        """A new store (``Store``) answering ``GET /stores`` and usable as a purchase's ``store_id``."""
        record = {"name": name, "store_code": name[:3].upper(), "partner_id": "fake-partner", "system_id": "fake"}
        return self.add({**record, **fields})


class BalanceRecords(Records):
    """Point or credit movements of customers (``Point`` / ``Credit`` records) and their balances."""

    def __init__(self, kind: str, new_id: Callable[[], str], stamp: Callable[[], str]) -> None:
        super().__init__(f"{kind}_id", new_id, stamp)
        self.kind = kind  # "point" or "credit"
        self._type_field = f"{kind}_type_id"
        self._assigned = "assigned_points" if kind == "point" else "assigned_credits"
        self._available = "available_points" if kind == "point" else "available_credits"

    def grant(
        self,
        customer_id: str,
        amount: float,
        *,
        type_id: str = "default",
        partner_id: str = "fake-partner",
        note: str | None = None,
    ) -> dict[str, Any]:
        """Give ``customer_id`` ``amount`` points (or credit): a new movement, available at once."""
        record: dict[str, Any] = {
            "customer_id": customer_id,
            self._type_field: type_id,
            "partner_id": partner_id,
            self._assigned: float(amount),
            self._available: float(amount),
            "state": 1,
        }
        if note is not None:
            record["note"] = note
        return self.add(record)

    def take(
        self,
        customer_id: str,
        amount: float,
        *,
        type_id: str = "default",
        partner_id: str = "fake-partner",
        note: str | None = None,
    ) -> dict[str, Any] | None:
        """Spend ``amount`` of ``customer_id``'s balance (oldest movements first) and record it as
        a movement of ``-amount``; None (and nothing taken) if the balance is short."""
        if not self.spend(customer_id, amount):
            return None
        record: dict[str, Any] = {
            "customer_id": customer_id,
            self._type_field: type_id,
            "partner_id": partner_id,
            self._assigned: -float(amount),
            self._available: 0.0,
            "state": 1,
        }
        if note is not None:
            record["note"] = note
        return self.add(record)

    def balance(self, customer_id: str) -> float:
        """What ``customer_id`` has available now."""
        return round(float(sum(r[self._available] for r in self.where(customer_id=customer_id))), 6)

    def redeemed(self, customer_id: str) -> float:
        """What ``customer_id`` has used so far."""
        return round(self.earned(customer_id) - self.balance(customer_id), 6)

    def earned(self, customer_id: str) -> float:
        """What ``customer_id`` was given in total."""
        movements = self.where(customer_id=customer_id)
        return round(float(sum(r[self._assigned] for r in movements if r[self._assigned] > 0)), 6)

    def spend(self, customer_id: str, amount: float) -> bool:
        """Take ``amount`` from the oldest movements; False (and nothing taken) if the balance is short."""
        if amount > self.balance(customer_id) + 1e-9:
            return False
        left = amount
        for record in self.where(customer_id=customer_id):
            if left <= 0:
                break
            take = min(record[self._available], left)
            record[self._available] = round(record[self._available] - take, 6)
            left = round(left - take, 6)
        return True
