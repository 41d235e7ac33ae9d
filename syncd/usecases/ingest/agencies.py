"""The agencies of an export: their names and organisation numbers stored, and the agencies
an export naming none covers. It stores no listing."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from syncd.config import Config
from syncd.core.domain import Agency
from syncd.store.listings import agency_sources, get_agency, save_agency
from syncd.usecases.ingest.export import Take
from syncd.usecases.ingest.parse import Parsed, fallback_agency

if TYPE_CHECKING:
    # For annotations only: the store's queries do every database access.
    from syncd.store.engine import Session


def save_agencies(session: Session, config: Config, parsed: Parsed, now: datetime) -> None:
    """Each agency's name and organisation number: the config's, else the export's.

    An agency neither names is not saved: its new listings wait, saying how to name it
    (core/plan/), rather than reaching Hemnet under the CRM's key as its name.
    """
    for key in sorted(parsed.listing_agencies):
        configured = config.agency_named(key)
        row = get_agency(session, key)
        if key in parsed.agency_names:
            name, org = parsed.agency_names[key]
        elif parsed.unchanged and row is not None:
            # Records taken unread (the very ones last read) say nothing here, though they
            # carry what is stored: kept, as reading them would give it again.
            name, org = row.name, row.organisation_number
        else:
            name, org = None, None
        if configured is not None:
            wanted = Agency(key, configured.name, configured.organisation_number or org)
        elif name:
            wanted = Agency(key, name, org)
        else:
            continue
        if row is None or (row.name, row.organisation_number) != (
            wanted.name,
            wanted.organisation_number,
        ):
            save_agency(session, wanted, now)


def agencies_fed(session: Session, take: Take, parsed: Parsed) -> set[str]:
    """The agencies an export naming none covers: those fed by files of its [[formats]] entry.

    Never simply the config's [agency]: another CRM's exports may be the ones that feed it.
    """
    config = take.config
    rule = config.format_for(take.name)
    fed = {agency for agency, name in agency_sources(session) if config.format_for(name) == rule}
    fallback = fallback_agency(parsed.mapping)
    if fallback and config.agency is None:
        fed.add(fallback)  # the mapping's own default, not taken over by the config
    return fed
