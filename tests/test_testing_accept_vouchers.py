"""The fake's accept-payment answers the vouchers it holds for the benefit codes sent (what the
workflow money invariant needs to mix vouchers into checkouts)."""

from __future__ import annotations

from test_testing_rules import Api, accept, api, final_bill

__all__ = ["api"]  # the fixture, imported for the tests below


async def test_accept_payment_lists_the_buyers_unused_vouchers_for_the_codes_sent(api: Api) -> None:
    jane, john = api.fake.customers.create(), api.fake.customers.create()
    api.fake.vouchers.add({"customer_id": jane["customer_id"], "code": "PTV10", "value": 10.0})
    api.fake.vouchers.add({"customer_id": john["customer_id"], "code": "JOHNS", "value": 5.0})
    used = api.fake.vouchers.add({"customer_id": jane["customer_id"], "code": "USED", "value": 3.0})
    used["applied_date"] = "2026-12-01 10:00:00"
    body = accept(final_bill("V1", [40.0]), jane["customer_id"])
    body["benefit_codes"] = ["PTV10", "JOHNS", "USED", "UNKNOWN"]
    answer = await api.send("POST", "/purchases/actions/accept-payment", body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["vouchers"] == [
        {"code": "PTV10", "name": "PTV10", "discount_value": 10.0, "bill_item_id": "item-1"}
    ]
    body["benefit_codes"] = []
    answer = await api.send("POST", "/purchases/actions/accept-payment", body)
    assert answer.json()["data"]["vouchers"] == []
