"""``syncd sandbox`` holding a seeded world (``seed.py``), as a process for the benchmarks.

The sandbox's own ``--state-file`` would also save the whole world every two seconds while
it changes (seconds of CPU at 100,000 listings, beside the daemon being measured); this
loads the seeded records once and saves nothing. Everything else is ``create_app``'s.

    python bench/seeded_sandbox.py --world WORLD.json --port P --token T [sandbox options]
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import uvicorn

from syncd.runtime.listen import listening_socket
from syncd.sandbox.app import create_app
from syncd.sandbox.model import World
from syncd.sandbox.settings import SandboxSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--auto-approve-after", type=float, default=None)
    parser.add_argument("--image-delay", type=float, default=SandboxSettings.image_delay_s)
    parser.add_argument("--rate", type=float, default=SandboxSettings.rate_per_s)
    parser.add_argument("--burst", type=int, default=SandboxSettings.burst)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", action="append", default=[])
    args = parser.parse_args()
    settings = SandboxSettings(
        port=args.port,
        token=args.token,
        auto_approve_after_s=args.auto_approve_after,
        image_delay_s=args.image_delay,
        rate_per_s=args.rate,
        burst=args.burst,
        webhook_url=args.webhook_url,
        webhook_secrets=tuple(args.webhook_secret),
        log_level=args.log_level,
    )
    logging.basicConfig(level=args.log_level.upper())
    app = create_app(settings)
    world: World = app.state.sandbox.world
    seeded = World.from_json(json.loads(args.world.read_text(encoding="utf-8")))
    # The bootstrap account and key stay the ones create_app made for the token.
    world.agencies.update(seeded.agencies)
    world.listings.update(seeded.listings)
    for image in seeded.images.values():
        world.add_image(image)
    world.next_id = max(world.next_id, seeded.next_id)
    server = uvicorn.Server(uvicorn.Config(app, log_level=args.log_level))
    server.run(sockets=[listening_socket(settings.host, settings.port)])


if __name__ == "__main__":
    main()
