"""``syncd show`` names the remedy of the error class apply acts on for each status code."""

from __future__ import annotations

import pytest

from syncd.core.errors import (
    ApiError,
    AuthenticationApiError,
    ForbiddenApiError,
    RejectedApiError,
    RemoteDriftError,
    RetryableApiError,
)
from syncd.core.stages import Stage, next_action
from syncd.status import remedy_for


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, RejectedApiError),
        (401, AuthenticationApiError),
        (403, ForbiddenApiError),
        (404, RemoteDriftError),
        (408, RetryableApiError),  # apply retries it: a rejection's remedy would mislead
        (409, RemoteDriftError),
        (410, RemoteDriftError),  # gone from Hemnet: drift, as apply treats it
        (422, RejectedApiError),
        (429, RetryableApiError),
        (503, RetryableApiError),
    ],
)
def test_the_remedy_is_that_of_the_class_apply_acts_on(
    status: int, error_class: type[ApiError]
) -> None:
    assert remedy_for(status, Stage.FAILED) == error_class.remedy


def test_without_a_status_code_the_stage_says_what_is_next() -> None:
    assert remedy_for(None, Stage.FAILED) == next_action(Stage.FAILED)
