"""``python -m clerk_async.testing``: a standalone FakeClerk another process can use."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

from clerk_async import AsyncClerk
from clerk_async.auth import verify_token
from clerk_async.testing import sign_webhook
from clerk_async.webhooks import verify_webhook

ROOT = Path(__file__).resolve().parents[2]


def read_dotenv(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        name, _, quoted = line.partition("=")
        values[name] = quoted.strip('"').replace("\\n", "\n")
    return values


async def test_the_server_prints_its_settings_and_serves_until_stopped(tmp_path: Path) -> None:
    env_file = tmp_path / ".env.test"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "clerk_async.testing",
        "--port",
        "0",
        "--users",
        "5",
        "--secret-key",
        "sk_test_cli",
        "--env-file",
        str(env_file),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        printed = b""
        while printed.count(b"\n") < 4:
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line, (await process.stderr.read()).decode()
            printed += line
        settings = read_dotenv(printed.decode())
        assert settings == read_dotenv(env_file.read_text())
        assert settings["CLERK_SECRET_KEY"] == "sk_test_cli"

        async with AsyncClerk(
            settings["CLERK_SECRET_KEY"], server_url=settings["CLERK_API_URL"] + "/v1"
        ) as clerk:
            assert (await clerk.users.count()).total_count == 5
            user_id = (await clerk.users.list(limit=1)).items[0].id
            # Any language can mint a session token over HTTP.
            session = await clerk.sessions.create(user_id=user_id)
            token = (await clerk.sessions.create_token(session.id)).jwt or ""
        claims = await verify_token(token, jwt_key=settings["CLERK_JWT_KEY"])
        assert claims.sub == user_id
        body, headers = sign_webhook(
            {"type": "user.created", "data": {}}, settings["CLERK_WEBHOOK_SIGNING_SECRET"]
        )
        assert (
            verify_webhook(body, headers, secret=settings["CLERK_WEBHOOK_SIGNING_SECRET"]).type
            == "user.created"
        )
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    async with aiohttp.ClientSession() as http:
        try:
            await http.get(settings["CLERK_API_URL"] + "/v1/jwks")
        except aiohttp.ClientConnectionError:
            pass
        else:
            raise AssertionError("the server still answers after SIGINT")


def test_a_taken_port_is_reported_plainly(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "clerk_async.testing", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            cwd=tmp_path,
        )
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
