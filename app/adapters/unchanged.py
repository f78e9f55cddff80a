"""An answer that comes back byte for byte the same is not read again.

A small tenant's whole membership goes out with every page of it (``tenant_membership``),
and between two changes of the directory it is the same bytes each time. Decoding,
checking and indexing it was about a third of the instructions a page costs, all of it
after its last round trip (a tenant of 200 groups of 20 members: 50 M -> 34 M per answer
from scim2-server, 48 M -> 36 M from Descope). So each adapter keeps that read's last
answer, with what was made of it, and makes it again only when the bytes differ.

This is not a cache of the directory: the read still goes out every time, and nothing is
answered that the backend did not just send. The new answer is compared with the kept one
in full (``bytes ==``, a memcmp: tens of microseconds for half a megabyte), never by a
hash. What is kept is shared by the requests that read the same bytes, so it must never
be written to: structs, frozen records, and indexes nobody changes after making them.

One answer per adapter and read (:class:`LastAnswers` for reads that vary: one per
request, for a few requests). All kept answers together are held to :data:`KEPT_BYTES`
of answer bytes; what they were made into takes about three times that again (a 442 KB
listing of 200 groups of 20 members decodes and indexes into 1.27 MB). Past it, the answer
used longest ago is let go first.

A keeper also knows when a request was answered with the same bytes twice running
(:meth:`LastAnswer.assumed`): the upstream send step may then answer the next such read
from it at once, while the read itself is still on the wire (``app.adapters.speculation``).
"""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Final, Generic, TypeVar

T = TypeVar("T")
U = TypeVar("U")

KEPT_BYTES: Final = 16 * 1024 * 1024
"""The answer bytes all adapters of the process keep at most: ~64 MB of memory in all, or
the whole reads of ~36 tenants of 200 groups of 20 members (~0.45 MB each)."""

NOTHING: Final[Any] = object()
"""What :meth:`LastAnswer.assumed` returns when nothing may be assumed (and what an empty
keeper holds)."""
_CLOCK = itertools.count()
_KEEPERS: weakref.WeakSet[LastAnswer[Any]] = weakref.WeakSet()


class LastAnswer(Generic[T]):
    """A decoder (``bytes -> T``) that hands back what it made last time when given the same
    bytes again, and keeps one thing made from that answer (:meth:`then`)."""

    __slots__ = (
        "__weakref__",
        "_content",
        "_decode",
        "_made",
        "_request",
        "_steady",
        "_used",
        "_value",
    )

    def __init__(self, decode: Callable[[bytes], T]) -> None:
        self._decode = decode
        self._content: bytes | None = None
        self._value: Any = NOTHING
        self._made: Any = NOTHING
        self._used = 0
        self._request: Hashable = None  # what the kept answer answered
        self._steady = False  # that request's last two answers were the same bytes

    def __call__(self, content: bytes) -> T:
        return self.answer(None, content)

    def answer(self, request: Hashable, content: bytes) -> T:
        """The decoded ``content``, which answered ``request`` (any hashable naming it)."""
        if content == self._content:
            self._steady = request == self._request
            self._request = request
            self._used = next(_CLOCK)
            value: T = self._value
            return value
        value = self._decode(content)  # raises on a bad answer, which is then not kept
        self._forget()
        if len(content) <= KEPT_BYTES:
            self._content, self._value, self._used = content, value, next(_CLOCK)
            self._request = request
            _KEEPERS.add(self)
            _hold_to_budget(self)
        return value

    def assumed(self, request: Hashable) -> Any:
        """The kept answer's decoded value when ``request`` was answered with those same
        bytes the last two times running: what it will most likely be answered again. Else
        :data:`NOTHING` (never answered, or its answers change)."""
        if self._steady and request == self._request and self._content is not None:
            self._used = next(_CLOCK)
            return self._value
        return NOTHING

    def doubt(self) -> None:
        """The request failed: assume nothing until it is answered the same twice again."""
        self._steady = False

    def then(self, decoded: T, make: Callable[[T], U]) -> U:
        """``make(decoded)``, made once per kept answer: ``decoded`` must be what this decoder
        just returned (when another answer has replaced it since, ``make`` runs and nothing
        is kept)."""
        if decoded is not self._value:
            return make(decoded)
        if self._made is NOTHING:
            self._made = make(decoded)  # raises on an answer of the wrong shape: not kept
        made: U = self._made
        return made

    @property
    def kept(self) -> int:
        """How many answer bytes this one keeps."""
        return len(self._content) if self._content is not None else 0

    def _forget(self) -> None:
        self._content, self._value, self._made = None, NOTHING, NOTHING
        self._request, self._steady = None, False


class LastAnswers(Generic[T]):
    """One :class:`LastAnswer` per request, for the last :attr:`size` requests asked for
    (a tenant's first pages, say): a read whose request varies."""

    __slots__ = ("_decode", "_keepers", "size")

    def __init__(self, decode: Callable[[bytes], T], size: int = 8) -> None:
        self._decode = decode
        self._keepers: OrderedDict[Hashable, LastAnswer[T]] = OrderedDict()
        self.size = size

    def __getitem__(self, request: Hashable) -> LastAnswer[T]:
        keepers = self._keepers
        keeper = keepers.get(request)
        if keeper is None:
            keeper = keepers[request] = LastAnswer(self._decode)
            if len(keepers) > self.size:
                keepers.popitem(last=False)
        else:
            keepers.move_to_end(request)
        return keeper


def _hold_to_budget(newest: LastAnswer[Any]) -> None:
    """Let go of the answers used longest ago until all fit :data:`KEPT_BYTES`."""
    keepers = [k for k in _KEEPERS if k.kept]
    held = sum(k.kept for k in keepers)
    for keeper in sorted(keepers, key=lambda k: k._used):
        if held <= KEPT_BYTES:
            return
        if keeper is not newest:
            held -= keeper.kept
            keeper._forget()
