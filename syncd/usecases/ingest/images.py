"""Asking the images Hemnet does not have yet what Hemnet will find there ([images] probe_new).

It only reads the store and adds warnings; whether the file is taken does not depend on it.
"""

from __future__ import annotations

from syncd.formats.image_probe import probe
from syncd.store.checks import known_image_urls
from syncd.usecases.ingest.export import Take
from syncd.usecases.ingest.parse import Parsed


def probe_new_images(take: Take, parsed: Parsed) -> None:
    """Ask the images Hemnet does not have yet what Hemnet will find there (bounded)."""
    images = take.config.images
    if not parsed.probe_candidates:
        return
    with take.store.read() as session:
        known = known_image_urls(session, {key for _, _, key, _ in parsed.probe_candidates})
    new = [c for c in parsed.probe_candidates if (c[2], c[3]) not in known]
    new = new[: images.probe_max_per_file]
    problems = probe([url for _, _, _, url in new], images.probe_timeout_s)
    for record, line, key, url in new:
        if url in problems:
            finding = {
                "record": record,
                "line": line,
                "listing_key": key,
                "severity": "warning",
                "field": "images.url",
                "value": url,
                "reason": problems[url],
            }
            parsed.warnings.append(finding)
            parsed.probe_findings.append(finding)
