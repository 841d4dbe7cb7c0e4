"""(Filled in by the messaging work.)"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["messaging"])
