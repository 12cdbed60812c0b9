"""An opt-in cache of Clerk's answers about opaque machine tokens (``ak_``, ``mt_``, ``oat_``).

Each opaque token costs one Backend API call to verify. The cache keeps each answer for a
few seconds, keyed by a SHA-256 digest of the token (the token itself is never stored), in
a bounded LRU, and lets concurrent verifications of one token share one call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._request import RequestState

__all__ = ["MachineTokenCache"]

# Clerk's definitive refusals; anything else (5xx, 429, network) is a failure, never cached.
_DEFINITIVE_REFUSALS = frozenset({"token-invalid", "token-expired"})


@dataclasses.dataclass(slots=True)
class _Entry:
    expires_at: float  # time.monotonic()
    state: RequestState  # with token=None: the token is never kept


class MachineTokenCache:
    """Remembers Clerk's verdict on opaque machine tokens for a few seconds.

    Create one and share it across requests (and clients of the same instance):
    ``authenticate_request(..., machine_token_cache=cache)``.

    Args:
        ttl: how long an accepted token is trusted without asking Clerk again, in seconds.
            This is the revocation delay: a token revoked in Clerk keeps working here for up
            to ``ttl`` seconds. Never longer than the token's own expiry.
        max_size: how many tokens are remembered; the least recently used go first.
        negative_ttl: how long a refusal (unknown, revoked or expired token) is remembered,
            in seconds. 0 (the default) asks Clerk again every time. Failures to ask (Clerk
            answering 5xx or 429, network errors) are never remembered.

    Raises:
        ValueError: a value that is not finite and >= 0 (``max_size`` must be >= 1).
    """

    __slots__ = ("_entries", "_inflight", "calls", "hits", "max_size", "negative_ttl", "ttl")

    def __init__(self, *, ttl: float = 10.0, max_size: int = 10_000, negative_ttl: float = 0.0):
        for name, value in (("ttl", ttl), ("negative_ttl", negative_ttl)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number of seconds, not {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be finite and >= 0, not {value!r}")
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ValueError(f"max_size must be an integer >= 1, not {max_size!r}")
        self.ttl = float(ttl)
        self.max_size = max_size
        self.negative_ttl = float(negative_ttl)
        self.hits = 0
        self.calls = 0
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._inflight: dict[bytes, asyncio.Task[RequestState]] = {}

    def __repr__(self) -> str:
        return (
            f"MachineTokenCache(ttl={self.ttl!r}, max_size={self.max_size!r}, "
            f"entries={len(self._entries)})"
        )

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every answer (for example after revoking tokens)."""
        self._entries.clear()

    @staticmethod
    def key(instance: str, token: str) -> bytes:
        """The cache key of ``token`` verified by ``instance``: a digest, never the token."""
        return hashlib.sha256(f"{instance}\0{token}".encode()).digest()

    async def verify(
        self, key: bytes, verify: Callable[[], Awaitable[RequestState]]
    ) -> RequestState:
        """The remembered verdict for ``key``, or ``verify()``'s, shared by concurrent callers.

        The returned state has no token; the caller puts its own back.
        """
        entry = self._entries.get(key)
        if entry is not None:
            if time.monotonic() < entry.expires_at:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry.state
            del self._entries[key]
        task = self._inflight.get(key)
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.get_running_loop().create_task(self._call(key, verify))
            self._inflight[key] = task
            task.add_done_callback(self._forget_call(key))
        # Shielded: one waiter being cancelled leaves the call running for the others.
        return await asyncio.shield(task)

    def _forget_call(self, key: bytes) -> Callable[[asyncio.Task[RequestState]], None]:
        def forget(task: asyncio.Task[RequestState]) -> None:
            if self._inflight.get(key) is task:
                del self._inflight[key]
            if not task.cancelled():
                task.exception()  # retrieved here, so no waiter left is no warning

        return forget

    async def _call(
        self, key: bytes, verify: Callable[[], Awaitable[RequestState]]
    ) -> RequestState:
        self.calls += 1
        state = dataclasses.replace(await verify(), token=None)
        lifetime = self._lifetime(state)
        if lifetime > 0:
            self._entries[key] = _Entry(time.monotonic() + lifetime, state)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)
        return state

    def _lifetime(self, state: RequestState) -> float:
        if state.is_signed_in:
            expires_at = state.machine.expires_at if state.machine is not None else None
            if expires_at is None:
                return self.ttl
            return min(self.ttl, expires_at - time.time())
        if state.reason in _DEFINITIVE_REFUSALS:
            return self.negative_ttl
        return 0.0
