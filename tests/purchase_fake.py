"""A small stateful stand-in for CareCloud's purchase side, for the money invariant tests.

An ``httpx.MockTransport`` handler (Enterprise API) that keeps what CareCloud keeps:

- bills by ``bill_id``: a second bill with the same id is refused (400, reason ``already_exists``
  on ``bill_id``), whatever its content;
- the cancel rule: a bill with ``canceled`` true needs a new ``bill_id`` and ``bill_number`` = the
  ``bill_id`` of an existing purchase that is not itself a cancellation and is not cancelled yet
  (else 400 on ``bill_number``); the cancel gives the points and credit of the original back;
- points and credit balances per customer: accept-payment offers at most the balance (points are
  worth ``POINT_VALUE`` each, credit only with payment type ``C``), and a purchase whose payment
  recap spends more than the balance is refused; a recorded purchase spends them;
- lost answers on demand (:attr:`lose_next`): ``"before"`` fails the request before anything is
  recorded, ``"after"`` records the purchase and then loses the answer (a read timeout).

It checks nothing about the arithmetic of ``total_price`` (CareCloud does not either): the tests
read :attr:`received` (every send-purchase body) and check it themselves.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

POINT_VALUE = 0.5  # money per loyalty point
VOUCHERS = {"PTV10": 10.0, "PTV25": 25.0}  # code -> discount value


def refusal(name: str, reason: str) -> httpx.Response:
    body = {"error": {"title": "Bad request", "error_data": {"invalid_params": [{"name": name, "reason": reason}]}}}
    return httpx.Response(400, json=body)


@dataclass
class PurchaseFake:
    """The stand-in; pass :meth:`handler` to ``httpx.MockTransport``."""

    points: dict[str, float]
    credit: dict[str, float]
    bills: dict[str, dict[str, Any]] = field(default_factory=dict)  # recorded send bodies by bill_id
    cancelled: dict[str, str] = field(default_factory=dict)  # original bill_id -> cancelling bill_id
    received: list[dict[str, Any]] = field(default_factory=list)  # every send-purchase body
    lose_next: Literal["before", "after"] | None = None
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.split("/v1.0", 1)[-1]
        if path == "/users/actions/login":
            return httpx.Response(200, json={"data": {"bearer_token": "t", "valid_to": "2099-01-01 00:00:00"}})
        if path == "/wallet/actions/points-overview":
            available = self.points.get(request.url.params["customer_id"], 0.0)
            value = [{"currency_id": "CZK", "value": available * POINT_VALUE}]
            return httpx.Response(
                200, json={"data": {"available_points": available, "available_points_money_value": value}}
            )
        if path == "/wallet/actions/credits-overview":
            available = self.credit.get(request.url.params["customer_id"], 0.0)
            return httpx.Response(200, json={"data": {"available_credits": available}})
        if path == "/purchases/actions/recommended-best-rewards":
            offered = [{"code": code, "name": code} for code in VOUCHERS]
            return httpx.Response(
                200, json={"data": {"recommended_best_rewards": offered, "total_items": len(offered)}}
            )
        if path == "/purchases/actions/accept-payment":
            return self._accept(json.loads(request.content))
        if path == "/purchases/actions/send-purchase":
            return self._send(request, json.loads(request.content))
        return httpx.Response(404, json={"error": {"title": f"not in the fake: {request.method} {path}"}})

    def _accept(self, body: dict[str, Any]) -> httpx.Response:
        customer = str(body.get("customer_id", ""))
        price = float(body["bill"]["total_price"])
        points = min(float(body.get("max_points", 0)), self.points.get(customer, 0.0), price / POINT_VALUE)
        points_value = round(points * POINT_VALUE, 2)
        credit = 0.0
        if body["payment_type"] == "C":
            credit = round(
                min(float(body.get("max_credit", 0)), self.credit.get(customer, 0.0), price - points_value), 2
            )
        vouchers = []
        for code in body.get("benefit_codes", []):
            if code not in VOUCHERS:
                return refusal("benefit_codes", "not_found")
            item = body["bill"]["bill_items"][0]["bill_item_id"]
            vouchers.append({"code": code, "name": code, "discount_value": VOUCHERS[code], "bill_item_id": item})
        answer = {
            "credit_points": points,
            "price_of_credit_points": points_value,
            "credit": credit,
            "vouchers": vouchers,
            "total_credit_points": self.points.get(customer, 0.0) - points,
            "total_credit": self.credit.get(customer, 0.0) - credit,
        }
        return httpx.Response(200, json={"data": answer})

    def _send(self, request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        self.received.append(body)
        lose, self.lose_next = self.lose_next, None
        if lose == "before":
            raise httpx.ReadTimeout("the fake lost this request before recording it", request=request)
        answer = self._record(body)
        if lose == "after" and answer.status_code == 201:
            raise httpx.ReadTimeout("the fake recorded this purchase and lost the answer", request=request)
        return answer

    def _record(self, body: dict[str, Any]) -> httpx.Response:
        bill = body["bill"]
        bill_id = bill["bill_id"]
        if bill_id in self.bills:
            return refusal("bill_id", "already_exists")
        customer = str(body.get("customer_id", ""))
        recap = bill.get("payment_recap", {})
        points, credit = float(recap.get("credit_points", 0)), float(recap.get("amount_for_credit", 0))
        if bill["canceled"]:
            original_id = bill.get("bill_number")
            original = self.bills.get(original_id) if isinstance(original_id, str) else None
            if original is None or original["bill"]["canceled"]:
                return refusal("bill_number", "not_found")
            if original_id in self.cancelled:
                return refusal("bill_number", "not_allowed_value")
            self.cancelled[original_id] = bill_id
            self.points[customer] = self.points.get(customer, 0.0) + points
            self.credit[customer] = self.credit.get(customer, 0.0) + credit
        else:
            if points > self.points.get(customer, 0.0) + 1e-9:
                return refusal("payment_recap.credit_points", "not_allowed_value")
            if credit > self.credit.get(customer, 0.0) + 1e-9:
                return refusal("payment_recap.amount_for_credit", "not_allowed_value")
            self.points[customer] = self.points.get(customer, 0.0) - points
            self.credit[customer] = self.credit.get(customer, 0.0) - credit
        self.bills[bill_id] = body
        return httpx.Response(201, json={"data": {"purchase_id": f"pu-{next(self._ids)}"}})
