"""CouponsService over gRPC: protobuf <-> domain; errors are mapped by the chassis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import grpc
from regulars.coupons.v1 import coupons_pb2, coupons_pb2_grpc

from chassis.errors import InvalidArgument
from services.coupons import pb_shapes as pb
from services.coupons.domain.coupons import Outcome, Source
from services.coupons.domain.rules import Rule
from services.coupons.entrypoints import pb_mapping as mapping
from services.coupons.service.catalogue import Catalogue
from services.coupons.service.housekeeping import Expiry
from services.coupons.service.issuing import Issuer, IssueResult
from services.coupons.service.jobs import JobRunner
from services.coupons.service.rules import RuleEngine
from services.coupons.service.till import Till
from services.coupons.service.wallet import Wallet

Context = grpc.aio.ServicerContext[Any, Any]
OUTCOME_TO_PB = {
    Outcome.ISSUED: coupons_pb2.CLAIM_OUTCOME_ISSUED,
    Outcome.SOLD_OUT: coupons_pb2.CLAIM_OUTCOME_SOLD_OUT,
    Outcome.LIMIT_REACHED: coupons_pb2.CLAIM_OUTCOME_LIMIT_REACHED,
    Outcome.NOT_ELIGIBLE: coupons_pb2.CLAIM_OUTCOME_NOT_ELIGIBLE,
    Outcome.NOT_AVAILABLE: coupons_pb2.CLAIM_OUTCOME_NOT_AVAILABLE,
}


def _required(field: str, value: str, limit: int = 128) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise InvalidArgument(field, f"{field} is required (up to {limit} characters)")
    return value


class CouponsServicer(coupons_pb2_grpc.CouponsServiceServicer):
    def __init__(
        self,
        *,
        catalogue: Catalogue,
        issuer: Issuer,
        till: Till,
        wallet: Wallet,
        jobs: JobRunner,
        rules: RuleEngine,
        expiry: Expiry,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._catalogue = catalogue
        self._issuer = issuer
        self._till = till
        self._wallet = wallet
        self._jobs = jobs
        self._rules = rules
        self._expiry = expiry
        self._clock = clock

    # Templates

    async def CreateTemplate(
        self, request: coupons_pb2.CreateTemplateRequest, context: Context
    ) -> coupons_pb2.Template:
        fields = mapping.template_fields(request.template)
        stays_spent = fields.pop("stays_spent_on_refund")
        view = await self._catalogue.create(_required("tenant_id", request.tenant_id), fields, stays_spent)
        return mapping.template(view)

    async def GetTemplate(
        self, request: coupons_pb2.GetTemplateRequest, context: Context
    ) -> coupons_pb2.Template:
        return mapping.template(await self._catalogue.view(request.tenant_id, request.template_id))

    async def ListTemplates(
        self, request: coupons_pb2.ListTemplatesRequest, context: Context
    ) -> coupons_pb2.ListTemplatesResponse:
        views = await self._catalogue.of_tenant(request.tenant_id, request.state)
        return coupons_pb2.ListTemplatesResponse(templates=[mapping.template(v) for v in views])

    async def UpdateTemplate(
        self, request: coupons_pb2.UpdateTemplateRequest, context: Context
    ) -> coupons_pb2.Template:
        if not request.update_mask:
            raise InvalidArgument("update_mask", "name the fields to change")
        changes = mapping.template_fields(request.template, set(request.update_mask))
        stays_spent = changes.pop("stays_spent_on_refund", None)
        view = await self._catalogue.update(request.tenant_id, request.template_id, changes, stays_spent)
        return mapping.template(view)

    async def SetTemplateState(
        self, request: coupons_pb2.SetTemplateStateRequest, context: Context
    ) -> coupons_pb2.Template:
        view = await self._catalogue.set_state(request.tenant_id, request.template_id, request.state)
        return mapping.template(view)

    # Getting a coupon

    def _answer(self, result: IssueResult) -> coupons_pb2.ClaimCouponResponse:
        reply = coupons_pb2.ClaimCouponResponse(outcome=OUTCOME_TO_PB[result.outcome], detail=result.detail)
        if result.coupon is not None:
            reply.coupon.CopyFrom(pb.coupon(result.coupon, self._clock()))
        return reply

    async def ClaimCoupon(
        self, request: coupons_pb2.ClaimCouponRequest, context: Context
    ) -> coupons_pb2.ClaimCouponResponse:
        member_id = _required("member_id", request.member_id)
        return self._answer(await self._issuer.claim(request.tenant_id, request.template_id, member_id))

    async def IssueCoupon(
        self, request: coupons_pb2.IssueCouponRequest, context: Context
    ) -> coupons_pb2.ClaimCouponResponse:
        result = await self._issuer.issue(
            request.tenant_id,
            request.template_id,
            _required("member_id", request.member_id),
            source=Source.ISSUE,
            key=_required("issue_id", request.issue_id),
            source_ref=request.issued_by.strip()[:64] or "system",
        )
        return self._answer(result)

    async def IssueCompensation(
        self, request: coupons_pb2.IssueCompensationRequest, context: Context
    ) -> coupons_pb2.ClaimCouponResponse:
        case_id = _required("case_id", request.case_id)
        result = await self._issuer.issue(
            request.tenant_id,
            request.template_id,
            _required("member_id", request.member_id),
            source=Source.COMPENSATION,
            key=case_id,
            source_ref=case_id,
        )
        return self._answer(result)

    async def StartIssueJob(
        self, request: coupons_pb2.StartIssueJobRequest, context: Context
    ) -> coupons_pb2.IssueJob:
        job = await self._jobs.start_issue(
            request.tenant_id, request.template_id, request.segment_id, request.job_key
        )
        return mapping.job(job)

    async def GetIssueJob(
        self, request: coupons_pb2.GetIssueJobRequest, context: Context
    ) -> coupons_pb2.IssueJob:
        return mapping.job(await self._jobs.issue_job(request.tenant_id, request.job_id))

    # The wallet

    async def ListMemberCoupons(
        self, request: coupons_pb2.ListMemberCouponsRequest, context: Context
    ) -> coupons_pb2.ListMemberCouponsResponse:
        states = [pb.STATE_FROM_PB[s].value for s in request.states if s in pb.STATE_FROM_PB]
        held = await self._wallet.coupons(
            request.tenant_id, _required("member_id", request.member_id), states
        )
        now = self._clock()
        return coupons_pb2.ListMemberCouponsResponse(coupons=[pb.coupon(c, now) for c in held])

    async def GetCoupon(self, request: coupons_pb2.GetCouponRequest, context: Context) -> coupons_pb2.Coupon:
        return pb.coupon(await self._till.by_code(request.tenant_id, request.code), self._clock())

    async def ShareCoupon(
        self, request: coupons_pb2.ShareCouponRequest, context: Context
    ) -> coupons_pb2.Coupon:
        gift = await self._wallet.share(
            request.tenant_id,
            request.code,
            _required("from_member_id", request.from_member_id),
            request.to_member_id,
        )
        return pb.coupon(gift, self._clock())

    # The till

    async def ValidateCart(
        self, request: coupons_pb2.ValidateCartRequest, context: Context
    ) -> coupons_pb2.ValidateCartResponse:
        lines = [
            {
                "sku": ln.sku,
                "brand": ln.brand,
                "category": ln.category,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
            }
            for ln in request.lines
        ]
        cart, checks, suggestion = await self._till.validate(
            request.tenant_id, request.member_id, request.store_id, lines
        )
        now = self._clock()
        codes = {ch.coupon.id: ch.coupon.code for ch in checks}
        reply = coupons_pb2.ValidateCartResponse(
            cart_total=cart.total, suggested_discount=suggestion.total_discount
        )
        chosen = dict(suggestion.chosen)
        for ch in checks:
            # Applies = it works on this cart by itself; a coupon that applies but is not in the
            # suggestion says why (not stackable with the chosen one, a better one of its template).
            reason, detail = suggestion.rejected.get(ch.coupon.id, (ch.decision.reason, ch.decision.detail))
            reply.checks.add(
                coupon=pb.coupon(ch.coupon, now),
                applies=ch.decision.applies,
                discount=chosen.get(ch.coupon.id, ch.decision.discount),
                reason=str(reason),
                detail=detail,
            )
        for coupon_id, amount in suggestion.chosen:
            reply.suggested.add(code=pb.coupon_code(codes[coupon_id]), discount=amount)
        return reply

    async def LockCoupon(
        self, request: coupons_pb2.LockCouponRequest, context: Context
    ) -> coupons_pb2.Coupon:
        locked = await self._till.lock(
            request.tenant_id, request.code, request.checkout_id, request.store_id, request.ttl_seconds
        )
        return pb.coupon(locked, self._clock())

    async def RedeemCoupon(
        self, request: coupons_pb2.RedeemCouponRequest, context: Context
    ) -> coupons_pb2.Coupon:
        redeemed = await self._till.redeem(
            request.tenant_id,
            request.code,
            receipt_no=request.receipt_no,
            store_id=request.store_id,
            checkout_id=request.checkout_id,
            staff_id=request.staff_id,
            discount=request.discount,
            receipt_total=request.receipt_total,
            purchase_id=request.purchase_id,
        )
        return pb.coupon(redeemed, self._clock())

    async def ReleaseCoupon(
        self, request: coupons_pb2.ReleaseCouponRequest, context: Context
    ) -> coupons_pb2.Coupon:
        released = await self._till.release(request.tenant_id, request.code, request.checkout_id)
        return pb.coupon(released, self._clock())

    # Rules, housekeeping, reports

    async def CreateRule(self, request: coupons_pb2.CreateRuleRequest, context: Context) -> coupons_pb2.Rule:
        r = request.rule
        rule = Rule.parse(
            tenant_id=_required("tenant_id", request.tenant_id),
            name=r.name,
            trigger=r.trigger,
            template_id=r.template_id,
            min_spend=r.conditions.min_spend,
            tiers=tuple(r.conditions.tiers),
            day_of_month=r.day_of_month,
            segment_id=r.segment_id,
        )
        return mapping.rule(await self._rules.create(rule))

    async def ListRules(
        self, request: coupons_pb2.ListRulesRequest, context: Context
    ) -> coupons_pb2.ListRulesResponse:
        rules = await self._rules.of_tenant(request.tenant_id)
        return coupons_pb2.ListRulesResponse(rules=[mapping.rule(r) for r in rules])

    async def SetRuleActive(
        self, request: coupons_pb2.SetRuleActiveRequest, context: Context
    ) -> coupons_pb2.Rule:
        return mapping.rule(await self._rules.set_active(request.tenant_id, request.rule_id, request.active))

    async def RunExpiry(
        self, request: coupons_pb2.RunExpiryRequest, context: Context
    ) -> coupons_pb2.ExpirySummary:
        at = request.at.ToDatetime(tzinfo=UTC) if request.HasField("at") else self._clock()
        expired, warned = await self._expiry.run(at)
        return coupons_pb2.ExpirySummary(expired=expired, expiring_warned=warned)

    async def RunSchedule(
        self, request: coupons_pb2.RunScheduleRequest, context: Context
    ) -> coupons_pb2.ScheduleSummary:
        try:
            day = date.fromisoformat(request.date)
        except ValueError:
            raise InvalidArgument("date", "date must be YYYY-MM-DD") from None
        return coupons_pb2.ScheduleSummary(jobs_started=await self._rules.run_schedule(day))

    async def GetTemplateReport(
        self, request: coupons_pb2.GetTemplateReportRequest, context: Context
    ) -> coupons_pb2.TemplateReport:
        return mapping.report(await self._catalogue.report(request.tenant_id, request.template_id))
