"""The coupons service as feedback sees it: a compensation coupon for a case, once per case
(coupons' IssueCompensation is idempotent on the case id, so a retry after a lost answer gets
the same coupon). Transport errors become domain errors here, so the use cases see none."""

from __future__ import annotations

from typing import Any

import grpc
from regulars.coupons.v1 import coupons_pb2, coupons_pb2_grpc

from chassis.errors import FailedPrecondition
from chassis.grpc_client import LazyStub, call_error

ISSUE_SECONDS = 5.0


class CouponsClient:
    def __init__(self, address: str) -> None:
        self._stub: LazyStub[Any] = LazyStub(address, coupons_pb2_grpc.CouponsServiceStub)

    async def issue(self, tenant_id: str, template_id: str, member_id: str, case_id: str) -> str:
        """The code of the case's compensation coupon (the same one however often asked)."""
        request = coupons_pb2.IssueCompensationRequest(
            tenant_id=tenant_id, template_id=template_id, member_id=member_id, case_id=case_id
        )
        try:
            reply = await self._stub().IssueCompensation(request, timeout=ISSUE_SECONDS)
        except grpc.aio.AioRpcError as exc:
            raise call_error(
                exc, "coupons", missing="no such coupon template", refused="coupons refused the compensation"
            ) from exc
        if reply.outcome != coupons_pb2.CLAIM_OUTCOME_ISSUED or not reply.coupon.code:
            raise FailedPrecondition(f"no compensation coupon: {reply.detail or 'the template gave none'}")
        return str(reply.coupon.code)

    async def close(self) -> None:
        await self._stub.close()
