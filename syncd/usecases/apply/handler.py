"""How one operation kind runs: its call, its settling by read-back, how its outcome is
recorded; and the registry the applier finds each kind's handler in.

A handler module (``syncd/usecases/apply/handlers/``) subclasses ``Handler`` for its op type and
decorates it with ``@registered``: that is all it takes for the applier to run the kind.
Handlers never commit, never count and never decide what happens after a failure (that is
``steps.next_step``); they say what to send and what to write down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from syncd.core.ops import Op
from syncd.hemnet import HemnetClient
from syncd.hemnet.models import RemoteListing
from syncd.usecases.apply.record import Record, forget_listing, key_of


class NotReady(Exception):
    """An op whose listing or agency has no Hemnet id yet: it waits for a later pass."""


class Stopped(Exception):
    """stop() was called before a write was sent (at most a read went out): nothing to
    settle. Raised nowhere after a write, so the op can simply be an intent again."""


@dataclass(frozen=True)
class Done:
    """A call's result: how to record it in the known state, and a word for the log."""

    record: Record
    hemnet_id: str | None = None
    data: dict[str, Any] | None = None
    durable: bool = False  # commit the outcome with a full sync
    # The listing's later ops of this pass were planned on what is no longer true (an
    # adoption brought Hemnet's images): they wait for the next plan, which comes at once.
    replan: bool = False


@dataclass(frozen=True)
class Settled:
    """Read back: Hemnet has what the op did; ``record`` writes it down, nothing is sent."""

    record: Record
    hemnet_id: str


@dataclass(frozen=True)
class Reopen:
    """Read back (or no need to): the op is an intent again, sent afresh; ``why`` is logged."""

    why: str


@dataclass(frozen=True)
class Gone:
    """What Hemnet no longer has: forgotten in the known state, so the plan sends it again."""

    record: Record
    message: str


@dataclass(frozen=True)
class Context:
    """What a handler may use: the client, Hemnet ids as known now, the request budget."""

    client: HemnetClient
    hemnet_id: Callable[[str], str]  # of a listing key; NotReady while it has none
    agency_id: Callable[[str], str]  # of an agency key; NotReady while it has none
    spend: Callable[[], None]  # one request from the budget; Stopped when the pass stops
    # Hemnet's listings with a key as externalId, from the pass's enumeration; None: look
    # the key up (``lookup.CreateLookup``).
    on_hemnet: Callable[[str], list[RemoteListing] | None]


OpT = TypeVar("OpT", bound=Op)


class Handler(Generic[OpT]):
    """One operation kind. Subclasses set ``op_type`` and implement ``prepare``."""

    op_type: ClassVar[type[Op]]
    # An unknown outcome (the request may have reached Hemnet) is recorded as unknown and
    # settled at the next pass instead of being retried with backoff: for kinds whose
    # repetition after an unseen success duplicates, and for kinds that look before
    # they write. The others are re-sent after the backoff.
    settles_unknown: ClassVar[bool] = False
    # A 404 means Hemnet already lacks what the op removes: a success (``when_gone``).
    gone_is_done: ClassVar[bool] = False
    # The call takes each request's token itself, right before sending it, and the applier
    # takes none for it: a token taken before a wait (another create's list of Hemnet's
    # listings) would go out with the request after it, bunched beyond Hemnet's burst.
    spends_own: ClassVar[bool] = False

    def prepare(self, op: OpT, ctx: Context) -> Callable[[], Done]:
        """The call for ``op`` with the ids it needs looked up now (NotReady before
        anything is marked); a listing created earlier in the pass has its id by then."""
        raise NotImplementedError

    def settle(self, key: str | None, payload: dict[str, Any], ctx: Context) -> Settled | Reopen:
        """An op left in flight or unknown: read Hemnet back, or say it may be re-sent."""
        return Reopen("re-sent: safe to repeat")

    def when_gone(self, op: OpT) -> Record:
        """The recording of a success found as a 404 (only where ``gone_is_done``)."""
        raise AssertionError(f"{op.kind}: a 404 is not a success")

    def drifted(self, op: OpT, key: str) -> Gone:
        """Hemnet answered 404/410: by default the listing is gone and is created again."""
        return Gone(forget_listing(key), "Hemnet no longer has this listing; it is created again")


_HANDLERS: dict[str, Handler[Any]] = {}

H = TypeVar("H", bound=type[Handler[Any]])


def registered(cls: H) -> H:
    """Class decorator: the applier runs ``cls.op_type``'s kind with an instance of ``cls``."""
    kind = cls.op_type.kind
    if kind in _HANDLERS:
        raise AssertionError(f"two handlers for op kind {kind}")
    _HANDLERS[kind] = cls()
    return cls


def handler_for(kind: str) -> Handler[Any]:
    """The handler of an op kind (every module of ``syncd.usecases.apply.handlers`` is loaded by
    ``syncd.usecases.apply``'s import)."""
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise AssertionError(f"apply has no handler for op kind {kind}") from None


def handled_kinds() -> frozenset[str]:
    return frozenset(_HANDLERS)


class ListingHandler(Handler[OpT]):
    """A kind sent to a listing Hemnet already has: ``prepare`` looks its Hemnet id up
    (NotReady while the listing has none) and ``call`` makes the request."""

    def prepare(self, op: OpT, ctx: Context) -> Callable[[], Done]:
        key = key_of(op)
        hid = ctx.hemnet_id(key)
        return lambda: self.call(op, key, hid, ctx)

    def call(self, op: OpT, key: str, hid: str, ctx: Context) -> Done:
        """The request for ``op`` to Hemnet's listing ``hid``, and how to record it."""
        raise NotImplementedError


class ReadBackListing(ListingHandler[OpT]):
    """A kind whose effect the listing, read back, shows (publication, market state, sale):
    an unknown outcome is settled by ``get_listing`` and ``shown``."""

    settles_unknown = True

    def shown(self, key: str, payload: dict[str, Any], remote: RemoteListing) -> Record | None:
        """The recording of the op when ``remote`` shows its effect; None when it does not."""
        raise NotImplementedError

    def settle(self, key: str | None, payload: dict[str, Any], ctx: Context) -> Settled | Reopen:
        assert key is not None
        hemnet_id = ctx.hemnet_id(key)
        ctx.spend()
        record = self.shown(key, payload, ctx.client.get_listing(hemnet_id))
        if record is None:
            return Reopen("Hemnet does not show it: safe to send again")
        return Settled(record, hemnet_id)


def reads_back(kind: str) -> bool:
    """Whether an op of ``kind`` left unresolved is settled by reading Hemnet back (its
    handler has a ``settle`` of its own) rather than simply sent again."""
    return type(handler_for(kind)).settle is not Handler.settle
