"""next_step: the step after each error class of syncd.core.errors, for each kind of op; and
the handler registry it reads (every op kind has exactly the flags the outbox relies on)."""

from __future__ import annotations

import inspect
from datetime import date

import pytest

import syncd.core.errors
from syncd.core.domain import (
    Agency,
    BillingInformation,
    Image,
    ImageRight,
    ImageRightTerms,
    MarketState,
    Sale,
    SellerInformation,
)
from syncd.core.errors import (
    ApiContext,
    ApiError,
    AuthenticationApiError,
    ForbiddenApiError,
    RejectedApiError,
    RemoteDriftError,
    RetryableApiError,
    UnreadableAnswerError,
)
from syncd.core.ops import (
    OP_KINDS,
    AddImage,
    CreateListing,
    DeleteImage,
    DeleteImageRight,
    EnsureAgency,
    MarkSold,
    Op,
    PublishListing,
    SendBillingInformation,
    SendSellerInformation,
    SetImageRight,
    SetMarketState,
    UnpublishListing,
    UpdateImage,
    UpdateListing,
)
from syncd.usecases.apply.handler import handled_kinds, handler_for, reads_back
from syncd.usecases.apply.steps import Step, next_step
from tests.unit.test_plan_rules import listing

AGENCY_OP = EnsureAgency(None, agency=Agency("AG1", "Mäklarhuset Söder"))
CREATE = CreateListing("A1", listing=listing())
UPDATE = UpdateListing("A1", listing=listing(), changed=("asking_price",))
ADD = AddImage("A1", image=Image(url="https://crm.example/img/1.jpg", order=0))
DELETE = DeleteImage("A1", url="https://crm.example/img/1.jpg", image_id="i1")
MOVE = UpdateImage("A1", url="https://crm.example/img/1.jpg", image_id="i1", order=1, caption=None)
SOLD = MarkSold("A1", sale=Sale(3_100_000, True, date(2026, 5, 1)))
DELETE_RIGHT = DeleteImageRight("A1", reason="the CRM gives none")
EVERY_KIND: list[Op] = [
    AGENCY_OP,
    CREATE,
    UPDATE,
    ADD,
    DELETE,
    MOVE,
    SOLD,
    SetMarketState("A1", market_state=MarketState.UPCOMING),
    SendSellerInformation("A1", seller=SellerInformation("Anna Svensson", "anna@example.se")),
    SendBillingInformation("A1", billing=BillingInformation("Anna Svensson")),
    PublishListing("A1"),
    UnpublishListing("A1", reason="withdrawn"),
    SetImageRight("A1", image_right=ImageRight(ImageRightTerms.SIX_MONTHS_LICENSE)),
    DELETE_RIGHT,
]

# Kinds whose unknown outcome is settled at the next pass, not retried after the backoff.
SETTLED = {
    "ensure_agency",
    "create_listing",
    "add_image",
    "set_market_state",
    "publish",
    "unpublish",
    "mark_sold",
}


def ctx(status: int | None) -> ApiContext:
    return ApiContext("POST", "/listings", status=status, request_id="r1")


def retryable(unknown: bool) -> RetryableApiError:
    return RetryableApiError("timeout", ctx(None), outcome_unknown=unknown)


def unreadable(unknown: bool) -> UnreadableAnswerError:
    return UnreadableAnswerError("id", "missing", ctx(201), outcome_unknown=unknown)


CASES: list[tuple[str, Op, ApiError, Step]] = [
    ("plain ApiError fails", UPDATE, ApiError("odd", ctx(418)), Step.FAIL),
    ("timeout before sending: retry", CREATE, retryable(False), Step.RETRY),
    ("create, outcome unknown: settle", CREATE, retryable(True), Step.SETTLE),
    ("agency, outcome unknown: settle", AGENCY_OP, retryable(True), Step.SETTLE),
    ("sale, outcome unknown: settle", SOLD, retryable(True), Step.SETTLE),
    ("update, outcome unknown: re-sent", UPDATE, retryable(True), Step.RETRY),
    ("delete, outcome unknown: re-sent", DELETE, retryable(True), Step.RETRY),
    ("429 or 5xx: retry", ADD, RetryableApiError("busy", ctx(503), retry_after_s=2), Step.RETRY),
    ("unreadable answer, image added: settle", ADD, unreadable(True), Step.SETTLE),
    ("unreadable answer to a read: retry", ADD, unreadable(False), Step.RETRY),
    ("422: fail the listing", CREATE, RejectedApiError("bad", ctx(422)), Step.FAIL),
    ("400: fail the listing", UPDATE, RejectedApiError("bad", ctx(400)), Step.FAIL),
    ("404 on update: forget, created again", UPDATE, RemoteDriftError("x", ctx(404)), Step.FORGET),
    ("410 on update: forget", UPDATE, RemoteDriftError("x", ctx(410)), Step.FORGET),
    ("404 on image move: forget", MOVE, RemoteDriftError("x", ctx(404)), Step.FORGET),
    ("404 on delete: already done", DELETE, RemoteDriftError("x", ctx(404)), Step.DONE),
    ("410 on delete: forget", DELETE, RemoteDriftError("x", ctx(410)), Step.FORGET),
    ("404 on right delete: done", DELETE_RIGHT, RemoteDriftError("x", ctx(404)), Step.DONE),
    ("409: fail, reconcile", UPDATE, RemoteDriftError("x", ctx(409)), Step.FAIL),
    ("404 on an agency: fail", AGENCY_OP, RemoteDriftError("x", ctx(404)), Step.FAIL),
    ("401: renew the key", UPDATE, AuthenticationApiError("who", ctx(401)), Step.RENEW_KEY),
    ("403: this resource only", CREATE, ForbiddenApiError("no", ctx(403)), Step.FAIL),
]


@pytest.mark.parametrize(("op", "error", "step"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_next_step(op: Op, error: ApiError, step: Step) -> None:
    assert next_step(op, error) is step


def test_every_api_error_class_has_a_case() -> None:
    api_errors = {
        cls
        for _, cls in inspect.getmembers(syncd.core.errors, inspect.isclass)
        if issubclass(cls, ApiError)
    }
    assert api_errors == {type(error) for _, _, error, _ in CASES}


def test_every_op_kind_has_a_handler() -> None:
    assert handled_kinds() == set(OP_KINDS)
    for kind, op_type in OP_KINDS.items():
        assert handler_for(kind).op_type is op_type


def test_unknown_outcomes_are_settled_exactly_for_the_kinds_that_must_not_repeat() -> None:
    assert {kind for kind in OP_KINDS if handler_for(kind).settles_unknown} == SETTLED
    read_back = {kind for kind in OP_KINDS if reads_back(kind)}
    assert read_back == SETTLED - {"ensure_agency"}  # it looks before it writes
    gone_is_done = {kind for kind in OP_KINDS if handler_for(kind).gone_is_done}
    assert gone_is_done == {"delete_image", "delete_image_right"}
    assert {op.kind for op in EVERY_KIND} == set(OP_KINDS)
    for op in EVERY_KIND:
        expected = Step.SETTLE if op.kind in SETTLED else Step.RETRY
        assert next_step(op, retryable(True)) is expected, op.kind
