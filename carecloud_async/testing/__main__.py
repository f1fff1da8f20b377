"""``python -m carecloud_async.testing --port N``: the fake CareCloud on 127.0.0.1 until Ctrl-C.

Prints ``listening http://127.0.0.1:<port>`` once it accepts connections, and the Enterprise login
it knows. ``--seed-customers N`` creates N customers (password ``fake-password``), each with a card.
``--slow SECONDS`` (or the same in milliseconds, ``--latency-ms``) delays every answer, a server
under load for benchmarks; ``--login-delay-ms``, ``--rate-limit`` and ``--cache-control
ROUTE=VALUE`` set what :meth:`FakeCareCloud.slow`, :meth:`~FakeCareCloud.rate_limit` and
:meth:`~FakeCareCloud.cache_control` set in-process; ``GET /__fake/counts`` and
``POST /__fake/clear-requests`` read and clear the counts from another process.

    python -m carecloud_async.testing --latency-ms 20 --rate-limit 40 --cache-control 'getStores=max-age=60'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from ._fake import FakeCareCloud
from ._server import FakeServer
from ._state import DEFAULT_ENTERPRISE_USER


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m carecloud_async.testing", description=__doc__)
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
    for _ in range(args.seed_customers):
        customer = fake.customers.create(password="fake-password")  # noqa: S106 (a test server's seed)
        fake.cards.create(customer_id=customer["customer_id"])

    async def serve() -> None:
        server = FakeServer(fake, port=args.port)
        await server.start()
        login, password, app = DEFAULT_ENTERPRISE_USER
        print(f"listening {server.url}", flush=True)
        print(f"enterprise login: user_external_application_id={app} login={login} password={password}", flush=True)
        try:
            await server.serve_forever()
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
