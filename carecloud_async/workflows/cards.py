"""Cards: find a card by its number, assign a free card to a customer.

card = await find_card(cc, "1000000000016")
assigned = await assign_free_card(cc, card_number="1000000000016", customer_id="8ea2591121e636086a4a9c0992")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from carecloud_api.api.cards import get_cards, post_assign_card, post_validate_free_card
from carecloud_api.models.card import Card
from carecloud_api.models.post_assign_card_body import PostAssignCardBody
from carecloud_api.models.post_validate_free_card_body import PostValidateFreeCardBody
from carecloud_api.types import Unset

from .._client import CareCloud
from .._errors import CareCloudError
from ._checks import answered, require_text

__all__ = ["AssignedCard", "CardNotAssignable", "CardRefusal", "assign_free_card", "find_card"]

#: Why a card cannot be assigned (:attr:`CardNotAssignable.reason`).
CardRefusal = Literal["not_found", "assigned_to_other_customer", "blocked", "not_free", "card_type_mismatch"]

_BLOCKED = 0  # Card.state: 0 - blocked / 1 - active


class CardNotAssignable(CareCloudError):
    """The card cannot be assigned to the customer; nothing was changed.

    ``reason`` is one of ``"not_found"`` (no card with that number), ``"assigned_to_other_customer"``,
    ``"blocked"`` (card state 0), ``"not_free"`` (validate-free-card said ``is_free_to_use: false``)
    or ``"card_type_mismatch"`` (the card is of another type than asked). ``card`` is the card found,
    if any.

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
    """Assign the free card ``card_number`` to ``customer_id``, checking first that it can be.

    Steps: find the card (``GET /cards``); refuse a card that is another customer's or blocked;
    ask the server whether it is free (``POST /cards/actions/validate-free-card``); then assign it
    (``POST /cards/actions/assign-free-card`` with the card's ``card_type_id``). A card already
    assigned to this customer is success without a request (``already_assigned=True``).
    ``card_type_id``, if given, must be the card's type.

        assigned = await assign_free_card(cc, card_number="1000000000016", customer_id=customer_id)
        print(assigned.card_id)

    Raises :class:`CardNotAssignable` (with ``reason``) when the card is missing, taken, blocked,
    not free or of another type; the usual ``APIError`` when a request is refused (the server
    allows one card per card type per customer: a customer who has one gets a ``BadRequest``).
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
    holder = card.customer_id if isinstance(card.customer_id, str) and card.customer_id else None
    if holder == customer_id and isinstance(card.card_id, str) and card.card_id:
        return AssignedCard(card.card_id, card_number, card.card_type_id, customer_id, already_assigned=True)
    if holder is not None:
        raise CardNotAssignable("assigned_to_other_customer", card_number, "it belongs to another customer", card=card)
    if card.state == _BLOCKED:
        raise CardNotAssignable("blocked", card_number, "the card is blocked", card=card)

    validation = await cc.call(post_validate_free_card.call, body=PostValidateFreeCardBody(card_number=card_number))
    data = answered(validation.data, "POST /cards/actions/validate-free-card", "data")
    if answered(data.is_free_to_use, "POST /cards/actions/validate-free-card", "is_free_to_use") is not True:
        raise CardNotAssignable("not_free", card_number, "the server says it is not free to use", card=card)

    body = PostAssignCardBody(card_type_id=card.card_type_id, customer_id=customer_id, card_number=card_number)
    answer = await cc.call(post_assign_card.call, body=body)
    assigned = answered(answer.data, "POST /cards/actions/assign-free-card", "data")
    card_id = answered(assigned.card_id, "POST /cards/actions/assign-free-card", "card_id")
    return AssignedCard(card_id, card_number, card.card_type_id, customer_id)
