"""Sending a create-once POST whose body carries a natural key (CareCloud has no idempotency key).

``POST /purchases/actions/send-purchase`` is keyed by ``bill.bill_id`` and ``POST /events`` by
``event.external_id``: the server refuses a second record with the same key (400 with an
``invalid_params`` reason ``already_exists`` / ``relation_already_exists`` naming the key).
Neither the transport (no retry after a read timeout for POST, by default) nor the caller can
know whether a request that timed out landed, but the key tells: send it again, and a duplicate
refusal means the first attempt was recorded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import TypeVar

from .._errors import APIError, BadRequest, NetworkError
from .._failures import is_permanent_failure

R = TypeVar("R")


def names_natural_key(error: APIError, *, key: str, reasons: Collection[str]) -> bool:
    """Whether ``error`` is the server refusing a duplicate of the natural ``key``.

    True for a 400 with an invalid param whose reason is one of ``reasons`` and whose name
    mentions ``key`` (names may be plain, dotted or composite, e.g.
    ``event_id_event_type_id_customer_id_external_id_secondary_external_id``).
    """
    if not isinstance(error, BadRequest):
        return False
    return any(param.reason in reasons and key in param.name for param in error.invalid_params)


async def send_keyed(
    send: Callable[[], Awaitable[R]],
    *,
    key: str,
    reasons: Collection[str],
    resend_on_network_error: int,
    attempted_before: bool = True,
) -> tuple[R | None, bool]:
    """Run ``send``; ``(answer, False)`` on success, ``(None, True)`` if the server says a record
    with this natural key already exists and an earlier attempt of this very request may have
    landed.

    On :class:`NetworkError` (which includes :class:`RequestTimeout`) ``send`` runs again, up to
    ``resend_on_network_error`` more times: the natural key makes that safe. A failure no resend can
    fix (a name that does not resolve, a TLS or certificate mismatch) is raised at once.

    A duplicate refusal means "an earlier attempt landed" only if there was an earlier attempt:
    a resend within this call, or ``attempted_before`` (the caller sent this same request before
    and lost the answer). With ``attempted_before=False`` a duplicate refusal of the first attempt
    is raised (the key belongs to another record: nothing was recorded by this call).
    """
    resends = 0
    while True:
        try:
            return await send(), False
        except BadRequest as exc:
            if (attempted_before or resends > 0) and names_natural_key(exc, key=key, reasons=reasons):
                return None, True
            raise
        except NetworkError as exc:
            if resends >= resend_on_network_error or is_permanent_failure(exc):
                raise  # a name that does not resolve or a TLS mismatch: a resend cannot fix it
            resends += 1
