"""Apply looks a listing's key up on Hemnet before creating it and adopts what it finds."""

from __future__ import annotations

from syncd.hemnet.payload import listing_body
from syncd.store.events import events_of_listing
from syncd.store.listings import known_images
from syncd.store.outbox import operations_of_listing
from tests.integration.apply_env import (
    AGENCY,
    Env,
    a_listing,
    hemnet_id,
    image,
    save,
    wait_for_images,
)


def test_of_two_listings_already_on_hemnet_the_oldest_is_adopted_and_nothing_is_created(
    env: Env,
) -> None:
    agency = env.client.create_agency(AGENCY.name, AGENCY.organisation_number, AGENCY.key)
    earlier = a_listing("P1", asking_price=1_000_000, title="Från förra systemet")
    oldest = env.client.create_listing(listing_body(earlier, agency.hemnet_id))
    newer = env.client.create_listing(listing_body(earlier, agency.hemnet_id))
    env.client.add_image(oldest.hemnet_id, image("P1", 0).url, None, 0, False)
    want = a_listing("P1")  # images 0 and 1, another price and title
    save(env.store, want)

    first = env.applier().run_pass()
    assert first.ops_failed == first.ops_retry == first.ops_unknown == 0
    assert hemnet_id(env.store, "P1") == oldest.hemnet_id
    found = env.client.list_listings(external_id="P1")
    assert sorted(r.hemnet_id for r in found) == sorted([oldest.hemnet_id, newer.hemnet_id])
    with env.store.read() as session:
        kinds = [e.kind for e in events_of_listing(session, "P1", 20)]
        sent = [
            op.kind for op in operations_of_listing(session, "P1", 20) if op.status == "succeeded"
        ]
        urls = [img.url for img in known_images(session, "P1")]
    assert "adopted" in kinds
    assert urls == [image("P1", 0).url]  # Hemnet's image is followed, not uploaded again
    # The pass stopped after the adoption: the images planned for a new listing never ran.
    assert sent == ["create_listing"]

    applier = env.applier()
    applier.run_pass()  # the update and the missing image, planned from what was adopted
    wait_for_images(env.store, env.poller(), ["P1"])
    applier.run_pass()  # publish
    after = env.client.get_listing(oldest.hemnet_id)
    assert after.is_published
    assert after.raw["askingPrice"] == want.asking_price
    urls_on_hemnet = [img.url for img in env.client.list_images(oldest.hemnet_id)]
    assert sorted(urls_on_hemnet) == sorted(img.url for img in want.images)  # one each
    assert len(env.client.list_listings(external_id="P1")) == 2  # never a third
