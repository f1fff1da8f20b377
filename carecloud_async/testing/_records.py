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
import json
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
        # Spending on purchases (no movement of its own): (movements stored before it, history entry).
        self._purchase_spends: list[tuple[int, dict[str, Any]]] = []

    def grant(
        self,
        customer_id: str,
        amount: float,
        *,
        type_id: str = "default",
        partner_id: str = "fake-partner",
        note: str | None = None,
        valid_to: str | None = None,
    ) -> dict[str, Any]:
        """Give ``customer_id`` ``amount`` points (or credit): a new movement, available at once
        (until ``valid_to``, ``YYYY-MM-DD HH:MM:SS``, if given: the expiration overviews count it)."""
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
        if valid_to is not None:
            record["valid_to"] = valid_to
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

    def history(self, customer_id: str) -> list[dict[str, Any]]:
        """``customer_id``'s history records (the spec's ``PointHistoryRecord`` /
        ``CreditHistoryRecord``), oldest first, from the stored movements: a grant is an addition
        (of credit: a deposit), a take (reduce, the giving side of a transfer) a redemption (a
        reduction) of -amount, at the time it was stored; and what :meth:`spend_on_purchase`
        spent, a redemption naming the store and the purchase's bill in ``extended_data``."""
        points = self.kind == "point"
        spends = [(at, entry) for at, entry in self._purchase_spends if entry["customer_id"] == customer_id]
        entries = []
        for position, record in enumerate(self._items.values()):
            entries += [entry for at, entry in spends if at == position]
            if record.get("customer_id") != customer_id:
                continue
            amount = record[self._assigned]
            entries.append(self._history_entry(customer_id, amount, record.get("note", ""), record["last_change"]))
            entries[-1]["partner_id"] = record["partner_id"]
            if points:
                entries[-1]["point_type_id"] = record[self._type_field]
        entries += [entry for at, entry in spends if at >= len(self._items)]
        return [dict(entry) for entry in entries]

    def _history_entry(self, customer_id: str, amount: float, note: str, time: str) -> dict[str, Any]:
        if self.kind == "point":
            operation = "Points addition" if amount >= 0 else "Points redemption"
        else:
            operation = "Credit deposit" if amount >= 0 else "Credit reduction"
        return {
            "customer_id": customer_id,
            "point_amount" if self.kind == "point" else "amount": amount,
            f"{self.kind}_operation_type": operation,
            f"{self.kind}_operation_note": note,
            f"{self.kind}_history_record_time": time,
        }

    def expiring(self, customer_id: str, now: str) -> dict[str, Any]:
        """What of ``customer_id``'s balance expires after ``now`` (``YYYY-MM-DD HH:MM:SS``), as the
        spec's expiration overview: ``next_amount`` on ``next_date`` (the soonest ``valid_to`` of a
        movement with some left), ``current_month_amount`` by the end of ``now``'s month. Movements
        without ``valid_to`` never expire; with none expiring, the amounts are 0 and no date."""
        left = [
            r
            for r in self.where(customer_id=customer_id)
            if r[self._available] > 0 and r.get("valid_to") and r["valid_to"].replace("T", " ") > now
        ]
        overview: dict[str, Any] = {"next_amount": 0.0, "current_month_amount": 0.0}
        if left:
            next_date = min(r["valid_to"][:10] for r in left)
            overview["next_date"] = next_date
            overview["next_amount"] = round(sum(r[self._available] for r in left if r["valid_to"][:10] == next_date), 6)
            this_month = [r for r in left if r["valid_to"][:7] == now[:7]]
            overview["current_month_amount"] = round(sum(r[self._available] for r in this_month), 6)
        return overview

    def spend_on_purchase(
        self, customer_id: str, amount: float, *, store_id: str, bill_id: str, purchase_value: float
    ) -> bool:
        """:meth:`spend` for a purchase paid with points (credit): no movement is stored (the
        movements ``GET /points`` lists stay as they are), but the history shows the redemption."""
        if not self.spend(customer_id, amount):
            return False
        if amount > 0:
            assert self._stamp is not None  # BalanceRecords always stamps
            entry = self._history_entry(customer_id, -float(amount), "", self._stamp())
            entry["store_id"] = store_id
            details = {"external_purchase_id": bill_id, "purchase_value": purchase_value}
            if self.kind == "point":
                entry["extended_data"] = json.dumps(details)
            self._purchase_spends.append((len(self._items), entry))
        return True

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
