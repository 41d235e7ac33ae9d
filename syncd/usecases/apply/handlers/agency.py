"""ensure_agency: adopt the agency Hemnet already has (our key, org number or name), else
create it. It looks before it writes, so an unknown outcome is settled by sending it again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from syncd.core.ops import EnsureAgency
from syncd.store.listings import set_agency_hemnet_id
from syncd.usecases.apply.handler import Context, Done, Handler, registered

if TYPE_CHECKING:
    from syncd.store.engine import Session


@registered
class EnsureAgencyHandler(Handler[EnsureAgency]):
    op_type = EnsureAgency
    settles_unknown = True  # settled by sending again (the default settle): it looks first

    def prepare(self, op: EnsureAgency, ctx: Context) -> Callable[[], Done]:
        return lambda: _ensure(op, ctx)


def _ensure(op: EnsureAgency, ctx: Context) -> Done:
    agency = op.agency
    found = None
    for remote in ctx.client.list_agencies():
        if (
            remote.external_id == agency.key
            or (
                agency.organisation_number
                and remote.organisation_number == agency.organisation_number
            )
            or remote.name.casefold() == agency.name.casefold()
        ):
            found = remote
            break
    if found is None:
        ctx.spend()
        found = ctx.client.create_agency(agency.name, agency.organisation_number, agency.key)
    hemnet_id = found.hemnet_id

    def record(session: Session, now: datetime) -> None:
        set_agency_hemnet_id(session, agency.key, hemnet_id, now)

    return Done(record, hemnet_id)
