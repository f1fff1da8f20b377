"""What the workflow tests need of the fake: accept-payment answers the vouchers it holds for the
benefit codes sent (the money invariant mixes vouchers into checkouts), and the property-records
batch updates or adds the customer's records (customer sync writes through it)."""

from __future__ import annotations

from typing import Any

from fake_api import Api
from test_testing_rules import accept, api, final_bill

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


async def test_the_property_records_batch_updates_existing_records_and_adds_new_ones(api: Api) -> None:
    jane, john = api.fake.customers.create(), api.fake.customers.create()
    base = f"/customers/{jane['customer_id']}/property-records"
    added = await api.send("POST", base, {"property_record": {"property_id": "club", "property_value": "silver"}})
    record_id = added.json()["data"]["property_record_id"]
    api.fake.property_records.add({"customer_id": john["customer_id"], "property_id": "club", "property_value": "x"})
    batch = {
        "property_records": [
            {"property_id": "club", "property_value": "gold"},
            {"property_id": "visits", "property_value": 7},
        ]
    }
    assert (await api.send("POST", f"{base}/batch", batch)).status_code == 204
    listed = (await api.send("GET", base)).json()["data"]["property_records"]
    assert [(r["property_record_id"] == record_id, r["property_id"], r["property_value"]) for r in listed] == [
        (True, "club", "gold"),
        (False, "visits", 7),
    ]
    johns = api.fake.property_records.where(customer_id=john["customer_id"])
    assert [r["property_value"] for r in johns] == ["x"]  # another customer's record is untouched
    unknown = await api.send("POST", "/customers/nobody/property-records/batch", batch)
    assert unknown.status_code == 404


async def test_customer_source_records_are_found_by_source_and_external_ids(api: Api) -> None:
    jane, john = api.fake.customers.create(), api.fake.customers.create()
    for customer, source, external_id in ((jane, "eshop", "E1"), (john, "eshop", "E2"), (john, "pos", "E1")):
        api.fake.source_records.add(
            {"customer_id": customer["customer_id"], "customer_source_id": source, "external_id": external_id}
        )

    async def found(**params: Any) -> list[tuple[str, str, str]]:
        answer = await api.send("GET", "/customer-source-records", **params)
        assert answer.status_code == 200, answer.text
        return [
            (r["customer_id"], r["customer_source_id"], r["external_id"])
            for r in answer.json()["data"]["customer_source_records"]
        ]

    assert await found(customer_source_id="eshop", **{"external_ids[]": ["E1"]}) == [
        (jane["customer_id"], "eshop", "E1")
    ]
    assert await found(external_id="E1") == [(jane["customer_id"], "eshop", "E1"), (john["customer_id"], "pos", "E1")]
    assert await found(customer_id=john["customer_id"], customer_source_id="eshop") == [
        (john["customer_id"], "eshop", "E2")
    ]
    assert await found(customer_source_id="eshop", **{"external_ids[]": ["E9"]}) == []


async def test_card_types_carry_no_last_change_as_in_the_spec(api: Api) -> None:
    # update_record compares the whole record where the resource has no last_change.
    card_type = api.fake.cards.create_type()
    answer = await api.send("GET", f"/card-types/{card_type['card_type_id']}")
    assert answer.status_code == 200
    assert "last_change" not in answer.json()["data"]
    assert "last_change" in api.fake.stores.create()  # resources whose schema has it keep it
