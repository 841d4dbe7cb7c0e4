"""Path parameters the coupon routers share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

TemplateId = Annotated[str, Path(min_length=1, max_length=64, description="Template id")]
JobId = Annotated[str, Path(min_length=1, max_length=64, description="Issue job id")]
RuleId = Annotated[str, Path(min_length=1, max_length=64, description="Rule id")]
Code = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="The coupon code as printed, e.g. 7K2M-9QXD-4T1E (case, spaces and dashes do not matter)",
    ),
]
