"""``python -m clerk_async.testing``: FakeClerk as a standalone server.

    python -m clerk_async.testing --port 8080 --users 100 --env-file .env.test

prints (and optionally writes) the settings an app in another process needs, as environment
variables, then serves until interrupted. Any language can mint session tokens over HTTP:
``POST /v1/sessions`` with ``{"user_id": ...}``, then ``POST /v1/sessions/{id}/tokens``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from ._server import FakeClerk


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m clerk_async.testing",
        description="Serve FakeClerk, an offline stand-in for Clerk's Backend API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port (0 picks a free one)")
    parser.add_argument("--users", type=int, default=0, help="users to create at start")
    parser.add_argument("--organizations", type=int, default=0, help="organizations to create")
    parser.add_argument("--secret-key", default="sk_test_fake", help="the accepted secret key")
    parser.add_argument(
        "--env-file", type=Path, help="also write the settings to this file (dotenv format)"
    )
    return parser


def settings(fake: FakeClerk) -> dict[str, str]:
    """What a client of the fake needs, named as Clerk's SDKs name them."""
    return {
        "CLERK_API_URL": fake.url.removesuffix("/v1"),
        "CLERK_SECRET_KEY": fake.secret_key,
        "CLERK_JWT_KEY": fake.jwt_key,
        "CLERK_WEBHOOK_SIGNING_SECRET": fake.webhook_secret,
    }


def dotenv(values: dict[str, str]) -> str:
    """``NAME="value"`` lines, with newlines (the PEM key has some) written as ``\\n``."""
    lines = []
    for name, value in values.items():
        escaped = value.strip().replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        lines.append(f'{name}="{escaped}"\n')
    return "".join(lines)


async def _serve(args: argparse.Namespace) -> None:
    if args.users < 0 or args.organizations < 0:
        raise SystemExit("--users and --organizations must be 0 or more")
    fake = FakeClerk(args.secret_key, users=args.users, organizations=args.organizations)
    try:
        await fake.start(host=args.host, port=args.port)
    except OSError as exc:
        raise SystemExit(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    try:
        text = dotenv(settings(fake))
        if args.env_file is not None:
            args.env_file.write_text(text)
        sys.stdout.write(text)
        sys.stdout.flush()
        print(f"FakeClerk serving {fake.url}; Ctrl-C to stop", file=sys.stderr, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C still interrupts
                loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await fake.close()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(_serve(_parser().parse_args(argv)))


if __name__ == "__main__":
    main()
