"""Coupons against real FerretDB and Kafka: a flash claim never oversells, one coupon is
redeemed once however many tills try, and locks hold a coupon for one checkout."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import grpc
import pytest
from pymongo import MongoClient
from regulars.coupons.v1 import coupons_pb2, coupons_pb2_grpc

from devstack.processes import Stack
from tests.integration.coupon_support import active_template, coupons_channel, members_known
from tests.support import bad_field

TENANT = "tenant-coupons"


async def test_a_flash_claim_of_2000_on_a_stock_of_300_issues_exactly_300_never_two_to_a_member(
    coupons_replicas: Stack, mongo: MongoClient[Any]
) -> None:
    coupons_stack = coupons_replicas
    async with coupons_channel(coupons_stack) as channel:
        api: Any = coupons_pb2_grpc.CouponsServiceStub(channel)
        template = await active_template(
            api, TENANT, limits=coupons_pb2.Limits(total_stock=300, per_member_limit=1)
        )
        members = [f"m{i:04d}" for i in range(1000)]  # each member taps twice
        await members_known(coupons_stack, TENANT, members)

        async def claim(member_id: str) -> Any:
            return await api.ClaimCoupon(
                coupons_pb2.ClaimCouponRequest(
                    tenant_id=TENANT, template_id=template.id, member_id=member_id
                ),
                timeout=120,
            )

        answers = await asyncio.gather(*(claim(m) for m in members + members))
        again = await api.GetTemplate(
            coupons_pb2.GetTemplateRequest(tenant_id=TENANT, template_id=template.id)
        )

    outcomes = Counter(coupons_pb2.ClaimOutcome.Name(a.outcome) for a in answers)
    winners = [a.coupon.member_id for a in answers if a.outcome == coupons_pb2.CLAIM_OUTCOME_ISSUED]
    assert outcomes["CLAIM_OUTCOME_ISSUED"] == 300
    assert len(set(winners)) == 300  # never two to one member
    assert set(outcomes) <= {"CLAIM_OUTCOME_ISSUED", "CLAIM_OUTCOME_SOLD_OUT", "CLAIM_OUTCOME_LIMIT_REACHED"}
    assert outcomes["CLAIM_OUTCOME_SOLD_OUT"] > 0
    assert outcomes["CLAIM_OUTCOME_LIMIT_REACHED"] > 0
    assert again.issued == 300
    db = mongo[f"{coupons_stack.namespace}regulars_coupons"]
    stored = list(db["coupons"].find({"template_id": template.id}, {"member_id": 1, "code": 1}))
    assert len(stored) == 300
    assert len({d["member_id"] for d in stored}) == 300
    assert len({d["code"] for d in stored}) == 300


async def test_a_hundred_tills_redeeming_one_coupon_succeed_exactly_once(coupons_replicas: Stack) -> None:
    async with coupons_channel(coupons_replicas) as channel:
        api: Any = coupons_pb2_grpc.CouponsServiceStub(channel)
        template = await active_template(api, TENANT)
        coupon = (
            await api.IssueCoupon(
                coupons_pb2.IssueCouponRequest(
                    tenant_id=TENANT, template_id=template.id, member_id="m-1", issue_id="welcome-m-1"
                )
            )
        ).coupon

        async def redeem(i: int) -> Any:
            request = coupons_pb2.RedeemCouponRequest(
                tenant_id=TENANT,
                code=coupon.code,
                receipt_no=f"R-{i}",
                store_id="sh-01",
                discount=2000,
                receipt_total=15_000,
            )
            try:
                return await api.RedeemCoupon(request, timeout=60)
            except grpc.aio.AioRpcError as exc:
                return exc

        answers = await asyncio.gather(*(redeem(i) for i in range(100)))
        won = [a for a in answers if isinstance(a, coupons_pb2.Coupon)]
        lost = [a for a in answers if isinstance(a, grpc.aio.AioRpcError)]
        assert len(won) == 1
        assert {e.code() for e in lost} == {grpc.StatusCode.FAILED_PRECONDITION}
        receipt = won[0].redemption.receipt_no
        retry = await api.RedeemCoupon(
            coupons_pb2.RedeemCouponRequest(
                tenant_id=TENANT,
                code=coupon.code,
                receipt_no=receipt,
                store_id="sh-01",
                discount=2000,
                receipt_total=15_000,
            )
        )
        assert (retry.state, retry.redemption.receipt_no) == (coupons_pb2.COUPON_STATE_REDEEMED, receipt)
        replayed = await api.IssueCoupon(
            coupons_pb2.IssueCouponRequest(
                tenant_id=TENANT, template_id=template.id, member_id="m-1", issue_id="welcome-m-1"
            )
        )
        assert replayed.coupon.id == coupon.id  # the same issue_id gives the same coupon


async def test_a_locked_coupon_is_held_for_its_checkout_until_released(coupons_stack: Stack) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{coupons_stack.ports['coupons']}") as channel:
        api: Any = coupons_pb2_grpc.CouponsServiceStub(channel)
        template = await active_template(api, TENANT)
        await members_known(coupons_stack, TENANT, ["m-lock"])
        code = (
            await api.ClaimCoupon(
                coupons_pb2.ClaimCouponRequest(tenant_id=TENANT, template_id=template.id, member_id="m-lock")
            )
        ).coupon.code
        locked = await api.LockCoupon(
            coupons_pb2.LockCouponRequest(tenant_id=TENANT, code=code, checkout_id="till-1", store_id="sh-01")
        )
        assert (locked.state, locked.checkout_id) == (coupons_pb2.COUPON_STATE_LOCKED, "till-1")
        for attempt in (
            api.LockCoupon(coupons_pb2.LockCouponRequest(tenant_id=TENANT, code=code, checkout_id="till-2")),
            api.RedeemCoupon(
                coupons_pb2.RedeemCouponRequest(
                    tenant_id=TENANT, code=code, receipt_no="R-x", store_id="sh-01", checkout_id="till-2"
                )
            ),
            api.ReleaseCoupon(
                coupons_pb2.ReleaseCouponRequest(tenant_id=TENANT, code=code, checkout_id="till-2")
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as held:
                await attempt
            assert held.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        released = await api.ReleaseCoupon(
            coupons_pb2.ReleaseCouponRequest(tenant_id=TENANT, code=code, checkout_id="till-1")
        )
        twice = await api.ReleaseCoupon(
            coupons_pb2.ReleaseCouponRequest(tenant_id=TENANT, code=code, checkout_id="till-1")
        )
        assert released.state == twice.state == coupons_pb2.COUPON_STATE_AVAILABLE
        relocked = await api.LockCoupon(
            coupons_pb2.LockCouponRequest(tenant_id=TENANT, code=code, checkout_id="till-2", store_id="sh-01")
        )
        assert relocked.checkout_id == "till-2"
        with_typo = code[:-1] + ("0" if code[-1] != "0" else "1")
        with pytest.raises(grpc.aio.AioRpcError) as typo:
            await api.GetCoupon(coupons_pb2.GetCouponRequest(tenant_id=TENANT, code=with_typo))
        assert typo.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_field(typo.value) == "code"
        with pytest.raises(grpc.aio.AioRpcError) as foreign:
            await api.GetCoupon(coupons_pb2.GetCouponRequest(tenant_id="someone-else", code=code))
        assert foreign.value.code() == grpc.StatusCode.NOT_FOUND
