"""The main job (``make demo``): the client's everyday work, end to end, with readable output.

With no ``CARECLOUD_PROJECT_URL`` set it starts the local Prism mock (the pinned spec, on
127.0.0.1), runs every step against it and stops it:

1. Enterprise login (token lifecycle), 2. a paginated customer listing, 3. a customer lookup by
card, 4. the POS checkout (recommend-best-rewards -> accept-payment -> send-purchase),
5. the purchase outbox: paid purchases stored in an SQLite file, sent, one cancelled, the state table,
6. a Customer API device token with a customer login and logout.

With ``CARECLOUD_*`` set (see docs/guide/configuration.md) it runs the read-only steps (1-3) against that project;
``CARECLOUD_DEMO_CARD_NUMBER`` picks the card to look up. ``CARECLOUD_DEMO_TRACING=1`` prints every
OpenTelemetry span as it ends, and the metrics at the end (needs opentelemetry-sdk; see
``examples/tracing.py`` and the guide "Tracing and metrics").

    python -m examples.demo
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from carecloud_api.models import Bill, BillItem, PluId, PostPurchaseSendBody, RecommendedReward

from carecloud_async import (
    CareCloud,
    CareCloudError,
    CustomerCredentials,
    Device,
    EnterpriseCareCloud,
    MemoryTokenStore,
    workflows,
)

#: Prism's spec examples: a card number, store and purchase type that the mock answers for.
MOCK_CARD_NUMBER = "1234567890"


def say(step: str, text: str = "") -> None:
    print(f"  {step:<28} {text}", flush=True)


def heading(text: str) -> None:
    print(f"\n== {text}", flush=True)


async def enterprise_steps(cc: EnterpriseCareCloud, *, card_number: str, read_only: bool) -> None:
    heading("Enterprise API")
    started = time.perf_counter()
    await cc.authenticate()
    expires = cc.auth.token_expires_at if hasattr(cc.auth, "token_expires_at") else None
    say("login", f"ok in {1000 * (time.perf_counter() - started):.0f} ms; token valid until {expires or 'a 401'}")

    listing = cc.customers.list(page_size=2, max_items=4)  # the resource tree: a typed paginator
    pages = 0
    async for page in listing.pages():
        pages += 1
        for customer in page.items:
            info = customer.personal_information
            say("customer", f"{customer.customer_id}  {info.first_name} {info.last_name}  <{info.email}>")
        total = page.total_items
    say("listing", f"{pages} page(s) of up to 2, total_items={total}")

    found = await workflows.find_customer_by_card(cc, card_number)
    if found is None:
        say("lookup by card", f"no customer holds card {card_number}")
    else:
        say("lookup by card", f"card {card_number} -> customer {found.customer_id}")
    if read_only:
        return

    heading("POS checkout")

    def choose(rewards: list[RecommendedReward]) -> Sequence[str]:
        for reward in rewards:
            say("recommended", f"{reward.code}: {reward.name}")
        chosen = [str(rewards[0].code)] if rewards else []
        say("cashier chooses", ", ".join(chosen) or "nothing")
        return chosen

    bill = Bill(
        bill_id=f"demo-{int(time.time())}",
        payment_time=time.strftime("%Y-%m-%d %H:%M:%S"),
        currency_id="8bed991c68a470e7aaeffbf048",
        total_price=700.0,
        bill_items=[
            BillItem(
                plu_ids=[PluId(list_code="GLOBAL", code="8594000000011")],
                plu_name="Wine",
                vat_rate=21.0,
                quantity=1.0,
                paid_amount=700.0,
                price=700.0,
                bill_item_id="1",
                loyalty_off=False,
                purchase_item_type_id="8bed991c68a470e7aaeffbf048",
            )
        ],
    )
    result = await workflows.checkout(
        cc,
        store_id="8bed991c68a470e7aaeffbf048",
        cashdesk_number=1,
        bill=bill,
        purchase_type_id="8bed991c68a470e7aaeffbf048",
        card_number=card_number,
        choose_rewards=choose,
    )
    accepted = result.accepted
    say("accept-payment", f"credit points {accepted.credit_points}, vouchers {len(accepted.vouchers or [])}")
    say("send-purchase", f"purchase {result.purchase.purchase_id} for bill {result.purchase.bill_id}")
    await outbox_steps(cc, bill)


async def outbox_steps(cc: CareCloud, bill: Bill) -> None:
    from carecloud_async.outbox import Outbox, render_counts, render_table

    heading("Purchase outbox (durable, SQLite)")
    with tempfile.TemporaryDirectory(prefix="carecloud-demo-") as folder:
        path = Path(folder) / "outbox.sqlite3"
        async with Outbox(path) as outbox:
            for number, desk in ((1, 1), (2, 2), (3, 1)):
                paid = Bill.from_dict({**bill.to_dict(), "bill_id": f"{bill.bill_id}-{number}"})
                final = workflows.final_bill(paid, purchase_type_id="8bed991c68a470e7aaeffbf048", payment_type="S")
                body = PostPurchaseSendBody(store_id="8bed991c68a470e7aaeffbf048", cashdesk_number=desk, bill=final)
                record = await outbox.submit(body)  # committed to the file when it returns
                say("outbox submit", f"bill {record.bill_id} (cash desk {desk}) stored as {record.state.value}")
            summary = await outbox.send_due(cc, concurrency=2)
            say("outbox sent", f"{len(summary.sent)} purchase(s), oldest first per cash desk, 2 in flight")
            cancel = await outbox.cancel(f"{bill.bill_id}-2")
            say("outbox cancel", f"bill {cancel.bill_id} cancels {cancel.cancels_bill_id} (bill_number)")
            await outbox.send_due(cc)
            print()
            for line in render_table(await outbox.records()).splitlines():
                print(f"  {line}")
            say("outbox states", render_counts(await outbox.counts()))


async def customer_steps(project: str) -> None:
    heading("Customer API")
    store = MemoryTokenStore()
    device = Device("demo-kiosk-1", "Linux", "Demo kiosk", "kiosk")
    async with CareCloud.customer(
        project, external_application_id="82de12eb8b138791e678fd11c3", device=device, token_store=store
    ) as cc:
        await cc.authenticate()
        say("device token", "created once and kept in the token store (never printed)")
        customer_id = await cc.login_customer(CustomerCredentials("email", "jane@example.com", "demo-password"))
        say("customer login", f"customer_id={customer_id}")
        await cc.logout_customer()
        say("customer logout", f"ok; customer_id now {cc.customer_id}")
    async with CareCloud.customer(
        project, external_application_id="82de12eb8b138791e678fd11c3", device=device, token_store=store
    ) as again:
        await again.authenticate()
        say("second process", "reused the stored device token: no new POST /tokens")


async def against_mock() -> None:
    from scripts import mock_server

    print("Starting the local CareCloud mock (Prism, pinned spec) on 127.0.0.1 ...", flush=True)
    async with mock_server.running_async(log=True) as prism:  # Prism's own log goes to a file
        print(f"  mock at {prism.root_url}", flush=True)
        async with CareCloud.enterprise(
            prism.root_url,
            user_external_application_id="89d1a6111b3fb6e74665d948",
            login="demo@example.com",
            password="demo-password",  # noqa: S106 (the local mock accepts any)
            time_zone="Europe/Prague",
        ) as cc:
            await enterprise_steps(cc, card_number=MOCK_CARD_NUMBER, read_only=False)
        await customer_steps(prism.root_url)
    print("\nMock stopped. Done.", flush=True)


async def against_project() -> None:
    print(f"Running the read-only steps against {os.environ['CARECLOUD_PROJECT_URL']}", flush=True)
    async with CareCloud.from_env() as cc:
        if not isinstance(cc, EnterpriseCareCloud):
            raise SystemExit("the demo's read-only steps use the Enterprise API: set CARECLOUD_LOGIN etc.")
        await enterprise_steps(
            cc, card_number=os.environ.get("CARECLOUD_DEMO_CARD_NUMBER", MOCK_CARD_NUMBER), read_only=True
        )


def main() -> int:
    from scripts.mock_server import MockServerError
    from scripts.spec_source import SpecError

    logging.basicConfig(level=logging.WARNING, format="  [%(levelname)s %(name)s] %(message)s")
    tracing = os.environ.get("CARECLOUD_DEMO_TRACING", "") not in ("", "0")
    if tracing:
        from examples.tracing import configure_console_tracing

        configure_console_tracing()  # before the first client: spans print as they end
    try:
        asyncio.run(against_project() if os.environ.get("CARECLOUD_PROJECT_URL") else against_mock())
    except (SpecError, MockServerError) as exc:
        # No spec or no Prism: a set-up problem, said in one line (its text says what to do).
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except CareCloudError as exc:
        print(f"\nfailed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if tracing:
        from examples.tracing import print_metrics

        heading("Metrics (OpenTelemetry)")
        print_metrics()
    return 0


if __name__ == "__main__":
    sys.exit(main())
