"""The operator's planning choices ([sync]), as the planner takes them.

Values only: ``config`` reads them from the TOML file; the planner never reads a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FailedImagePolicy = Literal["skip", "retry", "hold"]
FAILED_IMAGE_POLICIES: tuple[FailedImagePolicy, ...] = ("skip", "retry", "hold")


@dataclass(frozen=True, slots=True)
class PlanPolicy:
    """The operator's choices that change what the planner asks of Hemnet ([sync]).

    The one place their defaults live: the planner takes it as [sync] parsed it.
    """

    removal_grace_s: float = 86400.0
    mass_removal_share: float = 0.2
    mass_removal_min: int = 5
    failed_image_policy: FailedImagePolicy = "skip"
    publish: bool = True
    price_change_flag_share: float = 0.05
    auto_approve: bool = False  # ask for approval at publish where Hemnet attempts it

    def __post_init__(self) -> None:
        # parse_config reports bad values as problems first; this guards direct callers.
        if self.failed_image_policy not in FAILED_IMAGE_POLICIES:
            raise ValueError(
                f"failed_image_policy must be skip, retry or hold, not {self.failed_image_policy!r}"
            )
        if self.removal_grace_s < 0 or self.mass_removal_min < 0:
            raise ValueError("removal_grace_s and mass_removal_min must not be negative")
        if not 0 <= self.mass_removal_share <= 1 or self.price_change_flag_share < 0:
            raise ValueError("mass_removal_share must be within 0..1, price share ≥ 0")
