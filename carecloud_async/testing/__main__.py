"""python -m carecloud_async.testing: the fake CareCloud on 127.0.0.1 until Ctrl-C.

Once it accepts connections it prints "listening http://127.0.0.1:PORT", then the
CARECLOUD_* variables that point CareCloud.from_env() and the carecloud command at it, as
"export ..." lines: the Enterprise user it knows, a Customer API application and device (it gives
a device token to any), and with --seed-customers the first seeded customer's login.

--seed-customers N creates N customers (customer1@example.com ..., password fake-password), each
with a card. --slow SECONDS (or --latency-ms) delays every answer: a server under load, for
benchmarks. --login-delay-ms, --rate-limit and --cache-control ROUTE=VALUE do what
FakeCareCloud.slow, rate_limit and cache_control do in-process. GET /__fake/counts and
POST /__fake/clear-requests read and clear the request counts from another process.

example:
  python -m carecloud_async.testing --port 8080 --seed-customers 3
  python -m carecloud_async.testing --latency-ms 20 --rate-limit 40 --cache-control getStores=max-age=60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from .._environment import customer_environment, customer_login_environment, enterprise_environment, export_line
from ._fake import FakeCareCloud
from ._server import FakeServer
from ._state import CUSTOMER_APPLICATION_ID, CUSTOMER_DEVICE_ID, DEFAULT_ENTERPRISE_USER

SEED_PASSWORD = "fake-password"  # noqa: S105 (the seeded customers' password on a test server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m carecloud_async.testing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--time-zone", default="UTC", help="the project's IANA time zone")
    parser.add_argument("--logout-delay", type=float, default=0.0, help="seconds before a logout applies")
    parser.add_argument("--seed-customers", type=int, default=0, help="customers to create, each with a card")
    latency = parser.add_mutually_exclusive_group()
    latency.add_argument("--slow", type=float, default=0.0, help="seconds added to every answer (a slow server)")
    latency.add_argument("--latency-ms", type=float, default=0.0, help="--slow in milliseconds")
    parser.add_argument(
        "--login-delay-ms", type=float, default=0.0, help="delay Enterprise logins and device tokens further"
    )
    parser.add_argument("--rate-limit", type=int, default=None, help="answer 429 above this many requests a second")
    parser.add_argument(
        "--cache-control",
        action="append",
        default=[],
        metavar="ROUTE=VALUE",
        help="send Cache-Control: VALUE with ROUTE's answers (an operation id, a spec path or *); repeatable",
    )
    args = parser.parse_args(argv)
    fake = FakeCareCloud(time_zone=args.time_zone, logout_delay=args.logout_delay)
    delay = args.slow or args.latency_ms / 1000
    if delay > 0:
        fake.slow("*", delay)
    if args.login_delay_ms > 0:
        for operation in ("postUserLogin", "postToken"):
            fake.slow(operation, delay + args.login_delay_ms / 1000)
    fake.rate_limit(args.rate_limit)
    for setting in args.cache_control:
        route, separator, value = setting.partition("=")
        if not separator or not route or not value:
            parser.error(f"--cache-control takes ROUTE=VALUE, not {setting!r}")
        try:
            fake.cache_control(route, value)
        except KeyError as exc:
            parser.error(f"--cache-control: {exc.args[0]}")
    seeded = []
    for _ in range(args.seed_customers):
        customer = fake.customers.create(password=SEED_PASSWORD)
        fake.cards.create(customer_id=customer["customer_id"])
        seeded.append(customer)

    async def serve() -> None:
        server = FakeServer(fake, port=args.port)
        await server.start()
        print(f"listening {server.url}", flush=True)
        first = seeded[0]["personal_information"]["email"] if seeded else None
        print(settings(server.url, first), flush=True)
        try:
            await server.serve_forever()
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


def settings(url: str, seeded_email: str | None) -> str:
    """What the server prints after ``listening``: a heading and an ``export`` line for each API."""
    login, password, app = DEFAULT_ENTERPRISE_USER
    customer = customer_environment(url, external_application_id=CUSTOMER_APPLICATION_ID, device_id=CUSTOMER_DEVICE_ID)
    enterprise = enterprise_environment(url, user_external_application_id=app, login=login, password=password)
    lines = [
        "Ctrl-C to stop. To use it from another shell (CareCloud.from_env(), the carecloud command):",
        "Enterprise API:",
        "  " + export_line(enterprise),
        "Customer API (the fake gives a device token to any application and device id):",
        "  " + export_line(customer),
    ]
    if seeded_email is not None:
        lines += [
            f"Customer API, logged in as the seeded customer {seeded_email}:",
            "  " + export_line({**customer, **customer_login_environment("email", seeded_email, SEED_PASSWORD)}),
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
