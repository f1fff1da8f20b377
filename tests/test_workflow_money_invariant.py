"""The money invariant (issue 21): hypothesis drives random sequences of checkouts (cash, points,
credit, vouchers and their mixes, through ``checkout``, the ``Checkout`` steps and
``pay_with_points`` / ``pay_with_credit``), cancels (``Checkout.cancel_purchase``,
``send_purchase(canceled=True)``, ``purchases.cancelling_bill``), resends after a lost answer and
reused bill ids against the shipped fake CareCloud (``carecloud_async.testing``), which keeps
CareCloud's purchase rules (``bill_id`` unique, the cancel rule, the recap arithmetic, points and
credit balances spent by the purchases recorded) and loses answers on demand
(``reset_connection``, before or after the server recorded the purchase), and checks after every
step:

- every bill sent satisfies CareCloud's arithmetic: items less the points' value less the credit
  is the ``total_price`` sent; a cancel is the original bill with ``canceled`` true, a new
  ``bill_id`` and ``bill_number`` = the original ``bill_id``;
- a success the client reports means the server recorded that very bill (no false success);
- the balances are what the recorded purchases left.

The fake itself refuses a bill that breaks its rules; the invariants check every bill *sent*
(refused ones too), so a client that sends a wrong bill fails here even where the server refuses it.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from carecloud_api.api.purchases import post_purchase_send
from carecloud_api.models import Bill, BillItem, PluId
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from carecloud_async import BadRequest, NetworkError, RequestValidationError, RetryPolicy
from carecloud_async.testing import FakeCareCloud
from carecloud_async.workflows import (
    Checkout,
    DuplicateBill,
    InsufficientBalance,
    SentPurchase,
    checkout,
    pay_with_credit,
    pay_with_points,
)
from carecloud_async.workflows.purchases import cancelling_bill

CUSTOMERS = (0, 1)  # the machine's two customers, by index (the fake makes their ids)
POINT_VALUE = 0.5  # money per loyalty point
VOUCHERS = {"PTV10": 10.0, "PTV25": 25.0}  # code -> discount value, a voucher of each per customer
START_POINTS = 400.0
START_CREDIT = 150.0
RUNS = {
    "sequences": 0,
    "steps": 0,
    "sales": 0,
    "lost answers": 0,
    "resent and landed": 0,
    "cancels": 0,
    "reused ids refused": 0,
}

prices = st.lists(st.integers(min_value=1, max_value=30_000).map(lambda cents: cents / 100), min_size=1, max_size=3)
faults = st.sampled_from([None, None, "before", "after"])
payments = st.sampled_from(["cash", "points", "credit", "vouchers", "points+credit", "points+vouchers", "all"])
paths = st.sampled_from(["checkout", "steps", "pay_with"])


def a_bill(bill_id: str, item_prices: list[float]) -> Bill:
    items = [
        BillItem(
            plu_ids=[PluId(list_code="GLOBAL", code=f"sku-{index}")],
            plu_name=f"Item {index}",
            vat_rate=21.0,
            quantity=1.0,
            paid_amount=price,
            price=price,
            bill_item_id=f"i{index}",
            loyalty_off=False,
            purchase_item_type_id="pit-1",
        )
        for index, price in enumerate(item_prices)
    ]
    total = round(sum(item_prices), 2)
    return Bill(
        bill_id=bill_id, payment_time="2026-12-07 10:00:00", currency_id="CZK", total_price=total, bill_items=items
    )


class Sale:
    """A purchase the client said was recorded (or whose answer was lost), as the test knows it."""

    def __init__(self, bill: Bill, customer_id: str, steps: Checkout | None):
        self.bill = bill
        self.customer_id = customer_id
        self.steps = steps


class MoneyMachine(RuleBasedStateMachine):
    sales = Bundle("sales")  # recorded, per the client's success answer
    pending = Bundle("pending")  # Checkout steps whose send lost its answer

    def __init__(self) -> None:
        super().__init__()
        RUNS["sequences"] += 1
        self.fake = FakeCareCloud(point_value=POINT_VALUE)
        self.customers = [self.fake.customers.create()["customer_id"] for _ in CUSTOMERS]
        for customer_id in self.customers:
            self.fake.points.grant(customer_id, START_POINTS)
            self.fake.credits.grant(customer_id, START_CREDIT)
            for code, value in VOUCHERS.items():
                self.fake.vouchers.add({"customer_id": customer_id, "code": code, "value": value})
        self.loop = asyncio.new_event_loop()
        self.cc = self.fake.enterprise_client(retry=RetryPolicy.disabled())
        self.run(self.cc.__aenter__())
        self.ids = itertools.count(1)
        self.successes: list[tuple[SentPurchase, dict[str, Any]]] = []  # each with what was meant

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.run(self.cc.__aexit__(None, None, None))
        self.loop.close()

    def lose_next_answer(self, fault: str | None) -> None:
        """Lose the next send-purchase answer: before the server records it, or after."""
        if fault is not None:
            self.fake.reset_connection("postPurchaseSend", after_record=fault == "after")

    def no_fault_left(self) -> None:
        # A step that never reached send-purchase (refused before it) leaves its fault unused.
        self.fake.clear_faults()

    def sent_bodies(self) -> list[dict[str, Any]]:
        """Every send-purchase body that reached the server, oldest first."""
        return [request.json for request in self.fake.requests("postPurchaseSend")]

    def recorded(self) -> dict[str, dict[str, Any]]:
        """The purchases the server recorded, by ``bill_id``: its record, and the body recorded."""
        bodies = self.sent_bodies()
        found = {}
        for purchase in self.fake.purchases:
            bill = purchase["_bill"]
            body = next(b for b in bodies if b["bill"] == bill)
            found[bill["bill_id"]] = {**purchase, "body": body}
        return found

    def succeeded(self, sent: SentPurchase, meant: dict[str, Any]) -> None:
        self.successes.append((sent, meant))
        RUNS["cancels" if meant["canceled"] else "sales"] += 1
        RUNS["resent and landed"] += sent.already_recorded

    # ------------------------------------------------------------------ rules

    @rule(
        target=sales,
        item_prices=prices,
        customer=st.sampled_from(CUSTOMERS),
        payment=payments,
        path=paths,
        points=st.integers(min_value=1, max_value=500),
        credit=st.integers(min_value=1, max_value=20_000).map(lambda cents: cents / 100),
        fault=faults,
        resends=st.integers(min_value=0, max_value=1),
    )
    def pay(
        self,
        *,
        item_prices: list[float],
        customer: int,
        payment: str,
        path: str,
        points: int,
        credit: float,
        fault: str | None,
        resends: int,
    ) -> Sale | None:
        RUNS["steps"] += 1
        customer_id = self.customers[customer]
        bill = a_bill(f"B-{next(self.ids)}", item_prices)
        use_points = "points" in payment or payment == "all"
        use_credit = "credit" in payment or payment == "all"
        codes = ["PTV10"] if "vouchers" in payment or payment == "all" else []
        if path == "pay_with" and use_points and use_credit:
            path = "steps"  # pay_with_points / pay_with_credit pay one way
        self.lose_next_answer(fault)
        steps: Checkout | None = None
        try:
            if path == "checkout":
                result = self.run(
                    checkout(
                        self.cc,
                        store_id="s1",
                        cashdesk_number=1,
                        bill=bill,
                        customer_id=customer_id,
                        purchase_type_id="pt-1",
                        payment_type="C" if use_credit else "S",
                        choose_rewards=(lambda rewards: codes) if codes else None,
                        max_points=points if use_points else None,
                        max_credit=credit if use_credit else None,
                        resend_on_network_error=resends,
                    )
                )
                sent = result.purchase
            elif path == "pay_with" and (use_points or use_credit):
                pay = pay_with_points if use_points else pay_with_credit
                amount = {"points": points} if use_points else {"amount": credit}
                sent = self.run(
                    pay(
                        self.cc,
                        store_id="s1",
                        cashdesk_number=1,
                        bill=bill,
                        customer_id=customer_id,
                        purchase_type_id="pt-1",
                        benefit_codes=codes,
                        resend_on_network_error=resends,
                        **amount,
                    )
                ).purchase
            else:
                steps = Checkout(
                    self.cc,
                    store_id="s1",
                    cashdesk_number=1,
                    bill=bill,
                    customer_id=customer_id,
                    payment_type="C" if use_credit else "S",
                )
                self.run(
                    steps.accept_payment(
                        codes, max_points=points if use_points else None, max_credit=credit if use_credit else None
                    )
                )
                sent = self.run(steps.send_purchase(purchase_type_id="pt-1", resend_on_network_error=resends))
        except InsufficientBalance:
            assert bill.bill_id not in self.recorded()
            return None
        except NetworkError:
            RUNS["lost answers"] += 1
            # The answer was lost: recorded or not, only a resend of the same bill can tell.
            return Sale(bill, customer_id, steps) if steps is not None else None
        finally:
            self.no_fault_left()
        self.succeeded(sent, {"bill_id": bill.bill_id, "bill": bill, "customer_id": customer_id, "canceled": False})
        return Sale(bill, customer_id, steps)

    @rule(sale=sales, fault=faults)
    def resend(self, sale: Sale | None, fault: str | None) -> None:
        """The same bill again, through the same Checkout (a POS that did not see the answer)."""
        if sale is None or sale.steps is None:
            return
        RUNS["steps"] += 1
        self.lose_next_answer(fault)
        try:
            sent = self.run(sale.steps.send_purchase(purchase_type_id="pt-1"))
        except NetworkError:
            return
        except BadRequest:
            assert sale.bill.bill_id not in self.recorded()  # e.g. the balance is spent meanwhile
            return
        finally:
            self.no_fault_left()
        self.succeeded(
            sent, {"bill_id": sale.bill.bill_id, "bill": sale.bill, "customer_id": sale.customer_id, "canceled": False}
        )

    @rule(sale=sales, fault=faults, how=st.sampled_from(["cancel_purchase", "send_purchase", "cancelling_bill"]))
    def cancel(self, sale: Sale | None, fault: str | None, how: str) -> None:
        if sale is None:
            return
        RUNS["steps"] += 1
        original_id = sale.bill.bill_id
        before = len(self.sent_bodies())
        self.lose_next_answer(fault)
        try:
            if how != "cancelling_bill" and sale.steps is not None:
                sent = self.run(
                    sale.steps.cancel_purchase()
                    if how == "cancel_purchase"
                    else sale.steps.send_purchase(purchase_type_id="pt-1", canceled=True)
                )
            else:
                original = self.recorded().get(original_id)
                if original is None:  # never recorded: nothing to cancel (and nothing sent)
                    return
                from carecloud_api.models import PostPurchaseSendBody

                body = cancelling_bill(PostPurchaseSendBody.from_dict(original["body"]))
                answer = self.run(self.cc.call(post_purchase_send.call, body=body))
                sent = SentPurchase(body.bill.bill_id, answer.data.purchase_id, cancels=original_id)
        except RequestValidationError:
            assert len(self.sent_bodies()) == before  # refused before sending
            return
        except DuplicateBill as refused:  # cancelled before by another way (cancelling_bill): not this call's
            recorded_by_someone = refused.bill_id in self.recorded()
            assert recorded_by_someone
            return
        except (NetworkError, BadRequest):
            return
        finally:
            self.no_fault_left()
        assert sent.cancels == original_id
        self.succeeded(
            sent, {"bill_id": sent.bill_id, "bill": sale.bill, "customer_id": sale.customer_id, "canceled": True}
        )

    @rule(sale=sales, item_prices=prices)
    def reuse_bill_id(self, sale: Sale | None, item_prices: list[float]) -> None:
        """Another bill under an id the server already holds: never a success."""
        if sale is None or sale.bill.bill_id not in self.recorded():
            return
        RUNS["steps"] += 1
        bill = a_bill(sale.bill.bill_id, item_prices)
        steps = Checkout(self.cc, store_id="s1", cashdesk_number=2, bill=bill, customer_id=sale.customer_id)
        with pytest.raises(DuplicateBill) as refused:  # not a success: this bill was never recorded
            self.run(steps.send_purchase(purchase_type_id="pt-1"))
        assert refused.value.bill_id == sale.bill.bill_id
        RUNS["reused ids refused"] += 1

    @rule(item_prices=prices)
    def cancel_what_was_never_sent(self, item_prices: list[float]) -> None:
        RUNS["steps"] += 1
        steps = Checkout(self.cc, store_id="s1", cashdesk_number=1, bill=a_bill(f"N-{next(self.ids)}", item_prices))
        before = len(self.sent_bodies())
        try:
            self.run(steps.send_purchase(purchase_type_id="pt-1", canceled=True))
        except RequestValidationError:
            assert len(self.sent_bodies()) == before
        else:
            raise AssertionError("a cancel of a bill never sent was reported as sent")

    # ------------------------------------------------------------------ invariants

    @invariant()
    def every_bill_sent_follows_carecloud_rules(self) -> None:
        by_id: dict[str, dict[str, Any]] = {}
        for body in self.sent_bodies():
            bill = body["bill"]
            by_id.setdefault(bill["bill_id"], body)
            if not bill["canceled"]:
                items = sum(item["paid_amount"] for item in bill["bill_items"])
                recap = bill.get("payment_recap", {})
                points_value = recap.get("credit_points", 0) * POINT_VALUE
                credit = recap.get("amount_for_credit", 0)
                assert abs(bill["total_price"] - (items - points_value - credit)) < 0.006, bill
                assert bill["total_price"] >= 0
                continue
            original_id = bill.get("bill_number")
            assert isinstance(original_id, str), bill
            assert original_id != bill["bill_id"], bill
            original = by_id.get(original_id)
            assert original is not None, "a cancel of a bill never sent"
            assert not original["bill"]["canceled"], "a cancel of a cancel"
            same = {
                **bill,
                "canceled": False,
                "bill_id": original_id,
                "bill_number": original["bill"].get("bill_number"),
            }
            if same["bill_number"] is None:
                del same["bill_number"]
            assert {**body, "bill": same} == original, "a cancel changed more than its three fields"

    @invariant()
    def every_request_fits_the_spec(self) -> None:
        assert self.fake.violations == []

    @invariant()
    def a_success_means_that_very_bill_was_recorded(self) -> None:
        recorded_bills = self.recorded()
        for sent, meant in self.successes:
            recorded = recorded_bills.get(sent.bill_id)
            assert recorded is not None, f"{sent} reported, but the server has no bill {sent.bill_id}"
            assert sent.bill_id == meant["bill_id"]
            assert recorded["_bill"]["canceled"] is meant["canceled"]
            assert recorded["_bill"]["bill_items"] == [item.to_dict() for item in meant["bill"].bill_items]
            assert recorded["customer_id"] == meant["customer_id"]
            assert recorded["body"].get("customer_id") == meant["customer_id"]
            if meant["canceled"]:
                assert recorded["_bill"]["bill_number"] == meant["bill"].bill_id

    @invariant()
    def balances_are_what_the_recorded_purchases_left(self) -> None:
        # The fake gives nothing back on a cancel (CareCloud's documents say nothing of it): every
        # recorded sale, cancelled or not, spent what its payment recap names, and nothing else did.
        recorded_bills = self.recorded()
        for customer_id in self.customers:
            spent_points = spent_credit = 0.0
            for recorded in recorded_bills.values():
                bill = recorded["body"]["bill"]
                if recorded["body"].get("customer_id") != customer_id or bill["canceled"]:
                    continue
                spent_points += bill.get("payment_recap", {}).get("credit_points", 0)
                spent_credit += bill.get("payment_recap", {}).get("amount_for_credit", 0)
            assert abs(self.fake.points.balance(customer_id) - (START_POINTS - spent_points)) < 1e-6
            assert abs(self.fake.credits.balance(customer_id) - (START_CREDIT - spent_credit)) < 1e-6
            assert self.fake.points.balance(customer_id) >= -1e-9
            assert self.fake.credits.balance(customer_id) >= -1e-9


MoneyMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=12, deadline=None, derandomize=True, database=None
)
TestMoneyInvariant = MoneyMachine.TestCase


def test_zz_the_invariant_ran_enough_sequences() -> None:
    # Runs after TestMoneyInvariant in this module (pytest keeps file order): report the size.
    print("\nmoney invariant: " + ", ".join(f"{count} {name}" for name, count in RUNS.items()))
    assert RUNS["sequences"] >= 150
    assert min(RUNS.values()) > 0  # every kind of step happened
