"""``present``: a field the spec marks optional, read as the value it holds, or a typed error
naming the field (issue: the documented examples failed ``mypy --strict`` on ``X | Unset``)."""

from __future__ import annotations

import pytest
from carecloud_api.models import Customer, GetCustomer200Response
from carecloud_api.types import UNSET

from carecloud_async import CareCloudError, NotPresent, present

CUSTOMER = {"customer_id": "8ea2591121e636086a4a9c0992", "personal_information": {"language_id": "en"}}


def test_a_field_the_answer_holds_is_returned_as_it_is() -> None:
    answer = GetCustomer200Response.from_dict({"data": CUSTOMER})
    customer = present(answer.data, "data")
    assert customer is answer.data
    assert isinstance(customer, Customer)
    assert present(customer.customer_id, "customer_id") == "8ea2591121e636086a4a9c0992"


@pytest.mark.parametrize("value", ["", 0, 0.0, False, [], {}])
def test_a_falsy_value_is_present(value: object) -> None:
    # UNSET is falsy, and so are these: only UNSET and None count as missing, never a falsy value.
    assert present(value, "field") is value


def test_a_field_the_answer_left_out_raises_missing_field_naming_it() -> None:
    answer = GetCustomer200Response.from_dict({})
    assert answer.data is UNSET
    with pytest.raises(NotPresent) as missing:
        present(answer.data, "GetCustomer200Response.data")
    assert str(missing.value) == "GetCustomer200Response.data is absent: the answer left it out (UNSET)"
    assert missing.value.field == "GetCustomer200Response.data"
    assert missing.value.null is False
    assert isinstance(missing.value, CareCloudError)
    assert isinstance(missing.value, ValueError)


def test_a_null_field_raises_missing_field_too() -> None:
    # Parsing is null-tolerant: a null the spec does not announce comes in as None although the
    # annotation does not say so; present() refuses it, so its result is what its type says.
    answer = GetCustomer200Response.from_dict({"data": None})
    assert answer.data is None
    with pytest.raises(NotPresent, match=r"^data is null$") as missing:
        present(answer.data, "data")
    assert missing.value.null is True
