"""Whether a send-purchase body can ever be sent: the checks ``submit`` and the sender share.

A body that fails here fails every attempt the same way (no resend can fix it), so ``submit``
refuses it with :class:`~carecloud_async.RequestValidationError` before storing anything, and the
sender puts a stored one (written by an older version) into ``manual`` at its first attempt with
this text, without sending it. The checks are the ones the send itself runs: ``CareCloud.call``'s
argument check against the generated models (types, enum values, required fields) and the spec's
bounds (at most 1,000 values of a property), then the JSON
encoding httpx applies to a request body (no NaN or infinite number, text encodable as UTF-8).
Values are never quoted in the messages (a bill may hold personal data); paths are.

    problem = unsendable(record.send_body())   # None, or e.g. "body.bill.total_price must be a finite number, not nan"
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from carecloud_api.api.purchases import post_purchase_send
from carecloud_api.models.post_purchase_send_body import PostPurchaseSendBody

from .._errors import RequestValidationError
from .._operations import bind_arguments, call_target
from ..workflows._checks import require_text, require_whole

__all__ = ["sendable_body", "unsendable"]


def sendable_body(body: PostPurchaseSendBody | Mapping[str, Any]) -> PostPurchaseSendBody:
    """``body`` (a mapping is read into the model) if the sender can send it; else
    :class:`~carecloud_async.RequestValidationError` saying which field is wrong.

    >>> sendable_body({"store_id": "s", "cashdesk_number": 1, "bill": None})
    Traceback (most recent call last):
    ...
    carecloud_async._errors.RequestValidationError: this purchase could never be sent, so it is not stored: \
POST /purchases/actions/send-purchase: body.bill must be FinalBill, not NoneType
    """
    if isinstance(body, Mapping):
        try:
            body = PostPurchaseSendBody.from_dict(dict(body))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RequestValidationError(f"not a send-purchase body: {_reading_problem(exc)}") from None
    if not isinstance(body, PostPurchaseSendBody):
        raise RequestValidationError(
            f"submit takes a carecloud_api.models.PostPurchaseSendBody (or its dict), not a {type(body).__name__}"
        )
    problem, text = _check(body)
    if problem is not None or text is None:
        raise RequestValidationError(f"this purchase could never be sent, so it is not stored: {problem}")
    require_text(body.store_id, "store_id")
    require_whole(body.cashdesk_number, "cashdesk_number")
    require_text(body.bill.bill_id, "bill.bill_id")
    try:  # what is stored must come back as the same model when it is sent
        PostPurchaseSendBody.from_dict(json.loads(text))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RequestValidationError(f"the send-purchase body does not serialise: {_reading_problem(exc)}") from None
    return body


def unsendable(body: PostPurchaseSendBody) -> str | None:
    """Why the sender could never send ``body`` (the checks of the send itself), or None."""
    return _check(body)[0]


def _check(body: PostPurchaseSendBody) -> tuple[str | None, str | None]:
    """(why ``body`` can never be sent or None, its JSON text when it can)."""
    function, operation = call_target(post_purchase_send.call)
    try:
        bind_arguments(operation, function, body=body)  # what CareCloud.call checks before sending
    except RequestValidationError as exc:
        return str(exc), None
    data = body.to_dict()
    try:  # what httpx does with a request body (json=...): this raises for NaN, inf, lone surrogates
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        text.encode("utf-8")
    except (TypeError, ValueError) as exc:
        return _json_problem("body", data) or f"the body is not JSON: {type(exc).__name__}", None
    return None, text


def _json_problem(path: str, value: Any) -> str | None:
    # httpx encodes a request body with json.dumps(allow_nan=False, ensure_ascii=False) and then
    # UTF-8: a NaN or infinite number, or a lone surrogate in a string, fails there, every time.
    if isinstance(value, float) and not math.isfinite(value):
        return f"{path} must be a finite number, not {value!r}"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{path} is not valid text (it cannot be encoded as UTF-8)"
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            problem = _json_problem(f"{path}.{key}", item)
            if problem:
                return problem
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            problem = _json_problem(f"{path}[{index}]", item)
            if problem:
                return problem
    return None


def _reading_problem(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc}"
    return f"{type(exc).__name__} {exc}"
