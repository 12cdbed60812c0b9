"""Pages of the list operations: await one page, or iterate every item across pages.

Clerk's list operations page with ``limit`` and ``offset``. Their answer is either a bare JSON
array of items or an object holding the items (under ``data``, or another key named by the
:class:`Operation`) beside ``total_count``. A list method returns an :class:`AsyncPager` that
sends nothing until it is awaited or iterated, and fetches each page through the client's one
request function, so every page gets the same retries, limits and errors as a single call.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from msgspec import UNSET

from ._config import DEFAULT_OPTIONS, CallOptions

if TYPE_CHECKING:
    from ._operation import Operation
    from ._transport import Requester

__all__ = ["DEFAULT_PAGE_SIZE", "AsyncPager", "Page"]

DEFAULT_PAGE_SIZE = 10
"""Clerk's ``limit`` when none is sent: the spec's default for every list operation (the
generator refuses a list operation with another)."""

I = TypeVar("I")  # noqa: E741  # the item type, as in `Page[I]`


class Page(Sequence[I]):
    """One page of a list operation: a read-only sequence of its items.

    Attributes:
        items: the items of this page, in Clerk's order.
        total_count: how many items match in all, when Clerk says (object answers do;
            bare-array answers do not).
        offset: the position of the first item in the whole listing.
        limit: the page size asked for (Clerk's default of 10 when the call gave none).
        raw: the answer as decoded: the list itself, or the model holding it.
    """

    __slots__ = ("_pager", "items", "limit", "offset", "raw", "total_count")

    def __init__(self, pager: AsyncPager[I], raw: Any, offset: int, limit: int) -> None:
        self._pager = pager
        self.raw = raw
        self.offset = offset
        self.limit = limit
        if isinstance(raw, list):
            self.items: list[I] = raw
            self.total_count: int | None = None
        else:
            self.items = getattr(raw, pager._op.items_key)
            total = getattr(raw, "total_count", None)
            self.total_count = None if total is None else int(total)

    @property
    def next_offset(self) -> int:
        """The ``offset`` of the page after this one."""
        return self.offset + len(self.items)

    @property
    def has_next(self) -> bool:
        """Whether another page may hold items.

        With a ``total_count`` this is exact. Without one, a full page means there may be
        more; a short or empty page is the last, so the listing ends without asking again.
        """
        if not self.items:
            return False
        if self.total_count is not None:
            return self.next_offset < self.total_count
        return len(self.items) >= self.limit

    async def next_page(self) -> Page[I] | None:
        """Fetch the page after this one, with the same arguments; ``None`` after the last."""
        return await self._pager.fetch(self.next_offset) if self.has_next else None

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> I: ...
    @overload
    def __getitem__(self, index: slice) -> list[I]: ...
    def __getitem__(self, index: int | slice) -> I | list[I]:
        return self.items[index]

    def __iter__(self) -> Iterator[I]:
        return iter(self.items)

    def __repr__(self) -> str:
        total = "" if self.total_count is None else f", total_count={self.total_count}"
        return (
            f"<Page of {self._pager._op.name}: {len(self.items)} items at offset"
            f" {self.offset}{total}, has_next={self.has_next}>"
        )


class AsyncPager(Generic[I]):
    """The result of a list method: await it for one :class:`Page`, or iterate every item.

    ::

        page = await clerk.users.list(limit=100)              # one request
        async for user in clerk.users.list(limit=500):        # every user, page by page
            ...

    Nothing is sent until the pager is awaited or iterated, and each await or iteration starts
    over from the first page. Filters and ordering go unchanged with every page; only
    ``offset`` moves. While the caller works through one page the next is already being
    fetched (turn this off with ``items(prefetch=False)`` or ``pages(prefetch=False)``), so at
    most two pages are in memory. Iteration stops after an empty or short page, or once
    ``total_count`` items have been seen, without a further request.

    An error on any page is raised where iteration reaches that page, after the page's own
    retries, exactly as a single call would raise it.

    Offsets count from the start of a listing that can change while it is read: records
    created or deleted meanwhile can shift items across pages, so an item may be skipped or
    seen twice. Order by a stable key (such as ``created_at``) for long exports.
    """

    __slots__ = ("_limit", "_offset", "_op", "_options", "_path_args", "_query", "_request")

    def __init__(
        self,
        request: Requester,
        op: Operation[Any],
        path_args: Sequence[object] = (),
        query: Mapping[str, object] | None = None,
        *,
        options: CallOptions = DEFAULT_OPTIONS,
    ) -> None:
        if op.deprecated:
            # Warn once, where the list method is called, rather than from every page fetch
            # (some of which run in a prefetch task, far from the caller's code).
            op.warn_deprecated(stacklevel=3)  # __init__ <- list method <- caller
            op = dataclasses.replace(op, deprecated=False)
        query = dict(query or {})
        self._limit = _count(op.name, "limit", query.get("limit", UNSET), minimum=1)
        self._offset = _count(op.name, "offset", query.get("offset", UNSET), minimum=0)
        self._request = request
        self._op = op
        self._path_args = tuple(path_args)
        self._query = query
        self._options = options

    def __await__(self) -> Generator[Any, None, Page[I]]:
        return self.fetch(self._offset).__await__()

    def __aiter__(self) -> AsyncIterator[I]:
        return self.items()

    async def items(self, *, prefetch: bool = True) -> AsyncGenerator[I, None]:
        """Every item of every page, in order; ``prefetch`` fetches the next page early."""
        async with contextlib.aclosing(self.pages(prefetch=prefetch)) as pages:
            async for page in pages:
                for item in page.items:
                    yield item

    async def pages(self, *, prefetch: bool = True) -> AsyncGenerator[Page[I], None]:
        """Every page in turn, from the call's ``offset`` to the last page."""
        upcoming: asyncio.Future[Page[I]] | None = None
        try:
            page = await self.fetch(self._offset)
            while True:
                if prefetch and page.has_next:
                    upcoming = asyncio.ensure_future(self.fetch(page.next_offset))
                yield page
                if not page.has_next:
                    return
                if upcoming is None:
                    page = await self.fetch(page.next_offset)
                else:
                    page, upcoming = await upcoming, None
        finally:
            if upcoming is not None:
                _abandon(upcoming)

    async def fetch(self, offset: int) -> Page[I]:
        """The page starting at ``offset``, with the call's other arguments."""
        query = self._query if offset == self._offset else {**self._query, "offset": offset}
        raw = await self._request(self._op, self._path_args, query, options=self._options)
        return Page(self, raw, offset, self._limit)

    def __repr__(self) -> str:
        return f"<AsyncPager of {self._op.name}, limit={self._limit}, offset={self._offset}>"


def _count(operation: str, name: str, value: object, *, minimum: int) -> int:
    """A ``limit`` or ``offset`` argument, checked here because paging relies on it."""
    if value is UNSET:
        return DEFAULT_PAGE_SIZE if name == "limit" else 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{operation}: {name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{operation}: {name} must be at least {minimum}, not {value}")
    return value


def _abandon(task: asyncio.Future[Any]) -> None:
    """Cancel a prefetch nobody will read, and consume its outcome so that asyncio does not
    report an exception that was never retrieved."""
    task.cancel()
    task.add_done_callback(_consume)


def _consume(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
