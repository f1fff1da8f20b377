"""Cards: find a card by its number, assign a free card to a customer, create a new card.

card = await find_card(cc, "1000000000016")
assigned = await assign_free_card(cc, card_number="1000000000016", customer_id="8ea2591121e636086a4a9c0992")
created = await create_card(cc, card_number="0921000000017", card_type_text_id="loyalty_card",
                            customer_id="8ea2591121e636086a4a9c0992")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from carecloud_api.api.card_types import get_card_types
from carecloud_api.api.cards import get_cards, post_card
from carecloud_api.models.card import Card
from carecloud_api.models.card_state import CardState
from carecloud_api.models.card_type import CardType
from carecloud_api.models.post_card_body import PostCardBody
from carecloud_api.types import Unset

from .._client import CareCloud
from .._errors import CareCloudError, RequestValidationError
from ._checks import answered, optional_text, require_text
from .updates import update_record

__all__ = [
    "AssignedCard",
    "CardNotAssignable",
    "CardNotCreatable",
    "CardRefusal",
    "CreatedCard",
    "assign_free_card",
    "create_card",
    "find_card",
    "find_card_type",
]

#: Why a card cannot be assigned (:attr:`CardNotAssignable.reason`).
CardRefusal = Literal["not_found", "assigned_to_other_customer", "blocked", "not_free", "card_type_mismatch"]

_BLOCKED = 0  # Card.state: 0 - blocked / 1 - active


class CardNotAssignable(CareCloudError):
    """The card cannot be assigned to the customer; nothing was changed.

    ``reason`` is one of ``"not_found"`` (no card with that number), ``"assigned_to_other_customer"``,
    ``"blocked"`` (card state 0) or ``"card_type_mismatch"`` (the card is of another type than
    asked); ``"not_free"`` is no longer raised (the server's validate-free-card is not used).
    ``card`` is the card found, if any.

        try:
            await assign_free_card(cc, card_number=number, customer_id=customer_id)
        except CardNotAssignable as exc:
            if exc.reason == "assigned_to_other_customer":
                ...
    """

    def __init__(self, reason: CardRefusal, card_number: str, message: str, *, card: Card | None = None):
        super().__init__(f"card {card_number} cannot be assigned: {message}")
        self.reason: CardRefusal = reason
        self.card_number = card_number
        self.card = card


@dataclass(frozen=True)
class AssignedCard:
    """The outcome of :func:`assign_free_card`. ``already_assigned`` is True when the card was the
    customer's before the call (nothing was sent: the helper can be retried safely)."""

    card_id: str
    card_number: str
    card_type_id: str
    customer_id: str
    already_assigned: bool = False


async def find_card(cc: CareCloud, card_number: str) -> Card | None:
    """The card with this number (``GET /cards?card_number=...``), or None if there is none.

    card = await find_card(cc, "1000000000016")
    if card is not None and card.customer_id:
        print("held by", card.customer_id)
    """
    require_text(card_number, "card_number")
    page = await cc.call(get_cards.call, card_number=card_number)
    cards = [] if isinstance(page.data, Unset) or isinstance(page.data.cards, Unset) else page.data.cards
    # The filter is exact on the server; should it ever match more, the exact number wins.
    exact = [card for card in cards if card.card_number == card_number]
    if exact:
        return exact[0]
    return cards[0] if cards else None


async def assign_free_card(
    cc: CareCloud,
    *,
    card_number: str,
    customer_id: str,
    card_type_id: str | None = None,
) -> AssignedCard:
    """Assign the free card ``card_number`` to ``customer_id`` the way CareCloud's "Assign a card
    to an existing customer" use case describes it (Enterprise API).

    Steps: find the card (``GET /cards?card_number=...``); refuse a card that is another
    customer's or blocked; then put the whole card back with the new ``customer_id``
    (``PUT /cards/{card_id}`` through :func:`~carecloud_async.workflows.update_record`: every other
    field is kept, and a card changed or taken meanwhile is refused instead of overwritten). A card
    already assigned to this customer is success without a write (``already_assigned=True``).
    ``card_type_id``, if given, must be the card's type. Unlike the
    ``validate-free-card`` / ``assign-free-card`` actions, this also assigns a card to a customer who
    already holds a card of that type, as the vendor's flow does.

        assigned = await assign_free_card(cc, card_number="1000000000016", customer_id=customer_id)
        print(assigned.card_id)

    Raises :class:`CardNotAssignable` (with ``reason``) when the card is missing, taken or blocked
    (also when that happened between the look-up and the write), or of another type;
    :class:`~carecloud_async.workflows.UpdateConflict` when the card changed otherwise meanwhile; the
    usual ``APIError`` when a request is refused.
    """
    require_text(card_number, "card_number")
    require_text(customer_id, "customer_id")
    if card_type_id is not None:
        require_text(card_type_id, "card_type_id")

    card = await find_card(cc, card_number)
    if card is None:
        raise CardNotAssignable("not_found", card_number, "no card has this number")
    if card_type_id is not None and card.card_type_id != card_type_id:
        raise CardNotAssignable(
            "card_type_mismatch", card_number, f"it is of card type {card.card_type_id}, not {card_type_id}", card=card
        )
    card_id = answered(card.card_id, "GET /cards", "card_id")
    holder = _holder(card)
    if holder == customer_id:
        return AssignedCard(card_id, card_number, card.card_type_id, customer_id, already_assigned=True)
    _check_free(card, card_number)

    def assign(record: Card) -> None:
        # The card as read again just before the PUT: it must still be free.
        _check_free(record, card_number)
        record.customer_id = customer_id

    await update_record(cc, "/cards/{card_id}", card_id, changes=assign)
    return AssignedCard(card_id, card_number, card.card_type_id, customer_id)


def _holder(card: Card) -> str | None:
    return card.customer_id if isinstance(card.customer_id, str) and card.customer_id else None


def _check_free(card: Card, card_number: str) -> None:
    if _holder(card) is not None:
        raise CardNotAssignable("assigned_to_other_customer", card_number, "it belongs to another customer", card=card)
    if card.state == _BLOCKED:
        raise CardNotAssignable("blocked", card_number, "the card is blocked", card=card)


class CardNotCreatable(CareCloudError):
    """A new card cannot be created; nothing was sent. ``reason``: ``"unknown_card_type"`` (no card
    type matches: ``card_types`` lists the project's), ``"prefix_mismatch"`` (the number does not
    start with the card type's prefix) or ``"exists"`` (a card has this number already: assign it
    with :func:`assign_free_card` instead; ``card`` is that card)."""

    def __init__(
        self,
        reason: Literal["unknown_card_type", "prefix_mismatch", "exists"],
        message: str,
        *,
        card: Card | None = None,
        card_types: tuple[CardType, ...] = (),
    ):
        super().__init__(message)
        self.reason = reason
        self.card = card
        self.card_types = card_types


@dataclass(frozen=True)
class CreatedCard:
    """The outcome of :func:`create_card`."""

    card_id: str
    card_number: str
    card_type_id: str
    customer_id: str


async def find_card_type(
    cc: CareCloud, *, card_type_id: str | None = None, text_id: str | None = None, name: str | None = None
) -> CardType:
    """The card type with this id, ``text_id`` or ``name`` (``GET /card-types``, every page).

        loyalty = await find_card_type(cc, text_id="loyalty_card")
        print(loyalty.card_type_id, loyalty.prefix)

    Raises :class:`CardNotCreatable` (``unknown_card_type``, with the project's card types) when
    none matches; exactly one of the three must be given.
    """
    given = {k: v for k, v in (("card_type_id", card_type_id), ("text_id", text_id), ("name", name)) if v is not None}
    if len(given) != 1:
        raise RequestValidationError("find_card_type needs exactly one of card_type_id, text_id, name")
    ((key, wanted),) = given.items()
    require_text(wanted, key)
    types: list[CardType] = await cc.paginate(get_card_types, item_type=CardType, max_items=10_000).collect()
    for card_type in types:
        if getattr(card_type, key) == wanted:
            return card_type
    names = ", ".join(f"{t.name} ({t.text_id or t.card_type_id})" for t in types)
    raise CardNotCreatable(
        "unknown_card_type",
        f"no card type has {key} {wanted!r}; the project's card types: {names}",
        card_types=tuple(types),
    )


async def create_card(
    cc: CareCloud,
    *,
    card_number: str,
    customer_id: str,
    card_type_id: str | None = None,
    card_type_text_id: str | None = None,
    valid_from: str | None = None,
    valid_to: str | None = None,
    store_id: str | None = None,
    check_prefix: bool = True,
) -> CreatedCard:
    """Create a new, active card for ``customer_id`` (Enterprise API): look the card type up
    (``GET /card-types``, by ``card_type_id`` or ``card_type_text_id``), check the number starts with
    its prefix (``check_prefix``) and that no card has this number yet (``GET /cards``), then
    ``POST /cards``.

        created = await create_card(cc, card_number="0921000000017", card_type_text_id="loyalty_card",
                                    customer_id=customer_id)
        print(created.card_id)

    A number that already exists is :class:`CardNotCreatable` ``"exists"``: assign that card with
    :func:`assign_free_card` instead. ``valid_from`` / ``valid_to`` are project-local
    ``YYYY-MM-DD HH:MM:SS``.
    """
    number = require_text(card_number, "card_number")
    holder = require_text(customer_id, "customer_id")
    if (card_type_id is None) == (card_type_text_id is None):
        raise RequestValidationError("create_card needs exactly one of card_type_id or card_type_text_id")
    card = Card(
        card_type_id="",
        card_number=number,
        state=CardState(1),
        customer_id=holder,
        valid_from=optional_text(valid_from, "valid_from"),
        valid_to=optional_text(valid_to, "valid_to"),
        store_id=optional_text(store_id, "store_id"),
    )
    card_type = await (
        find_card_type(cc, card_type_id=card_type_id)
        if card_type_id is not None
        else find_card_type(cc, text_id=card_type_text_id)
    )
    type_id = answered(card_type.card_type_id, "GET /card-types", "card_type_id")
    if check_prefix and card_type.prefix and not number.startswith(card_type.prefix):
        raise CardNotCreatable(
            "prefix_mismatch",
            f"card {number} does not start with the prefix {card_type.prefix!r} of card type {card_type.name}; "
            "check the number (or pass check_prefix=False)",
        )
    existing = await find_card(cc, number)
    if existing is not None and existing.card_number == number:
        raise CardNotCreatable(
            "exists", f"card {number} exists already; assign it with assign_free_card instead", card=existing
        )
    card.card_type_id = type_id
    answer = await cc.call(post_card.call, body=PostCardBody(card=card))
    card_id = answered(answered(answer.data, "POST /cards", "data").card_id, "POST /cards", "card_id")
    return CreatedCard(card_id, number, type_id, holder)
