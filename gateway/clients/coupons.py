"""The coupons service as the gateway uses it: templates, jobs, rules, wallets, claims, the till.

Each method is one RPC: the request built from a schema, the reply mapped back. A refusal to
issue is a `ClaimOut` with its outcome, not an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from regulars.coupons.v1 import coupons_pb2 as pb
from regulars.coupons.v1 import coupons_pb2_grpc

from gateway.clients.calls import ServiceClient
from gateway.clients.coupons_mapping import (
    COUPON_STATES,
    cart_checks_out,
    cart_line_pb,
    claim_out,
    coupon_out,
    job_out,
    report_out,
    rule_out,
    rule_pb,
    template_fields,
    template_out,
)
from gateway.schemas.coupons import (
    ClaimOut,
    CouponOut,
    CouponStateName,
    IssueJobOut,
    LockBody,
    RedeemBody,
    RuleBody,
    RuleOut,
    TemplateBody,
    TemplateOut,
    TemplateReportOut,
    UpdateTemplateBody,
    ValidateCartBody,
    ValidateCartOut,
)

if TYPE_CHECKING:
    Stub = coupons_pb2_grpc.CouponsServiceAsyncStub
else:  # the async stub class is in the type stubs only
    Stub = coupons_pb2_grpc.CouponsServiceStub


class CouponsClient(ServiceClient[Stub]):
    # --- Templates -----------------------------------------------------------------------------

    async def create_template(self, tenant_id: str, body: TemplateBody) -> TemplateOut:
        fields = template_fields(body, list(TemplateBody.model_fields))
        req = pb.CreateTemplateRequest(tenant_id=tenant_id, template=fields)
        return template_out(await self._call(self._stub.CreateTemplate, req))

    async def list_templates(self, tenant_id: str, state: str) -> list[TemplateOut]:
        reply = await self._call(
            self._stub.ListTemplates, pb.ListTemplatesRequest(tenant_id=tenant_id, state=state)
        )
        return [template_out(t) for t in reply.templates]

    async def get_template(self, tenant_id: str, template_id: str) -> TemplateOut:
        req = pb.GetTemplateRequest(tenant_id=tenant_id, template_id=template_id)
        return template_out(await self._call(self._stub.GetTemplate, req))

    async def update_template(
        self, tenant_id: str, template_id: str, body: UpdateTemplateBody
    ) -> TemplateOut:
        """Changes the fields sent with a value; a nested object is replaced whole."""
        mask = [
            name
            for name in UpdateTemplateBody.model_fields
            if name in body.model_fields_set and getattr(body, name) is not None
        ]
        req = pb.UpdateTemplateRequest(
            tenant_id=tenant_id,
            template_id=template_id,
            template=template_fields(body, mask),
            update_mask=mask,
        )
        return template_out(await self._call(self._stub.UpdateTemplate, req))

    async def set_template_state(self, tenant_id: str, template_id: str, state: str) -> TemplateOut:
        req = pb.SetTemplateStateRequest(tenant_id=tenant_id, template_id=template_id, state=state)
        return template_out(await self._call(self._stub.SetTemplateState, req))

    async def template_report(self, tenant_id: str, template_id: str) -> TemplateReportOut:
        req = pb.GetTemplateReportRequest(tenant_id=tenant_id, template_id=template_id)
        return report_out(await self._call(self._stub.GetTemplateReport, req))

    # --- Issue jobs and rules ------------------------------------------------------------------

    async def start_issue_job(
        self, tenant_id: str, template_id: str, segment_id: str, job_key: str
    ) -> IssueJobOut:
        req = pb.StartIssueJobRequest(
            tenant_id=tenant_id, template_id=template_id, segment_id=segment_id, job_key=job_key
        )
        return job_out(await self._call(self._stub.StartIssueJob, req))

    async def get_issue_job(self, tenant_id: str, job_id: str) -> IssueJobOut:
        return job_out(
            await self._call(
                self._stub.GetIssueJob, pb.GetIssueJobRequest(tenant_id=tenant_id, job_id=job_id)
            )
        )

    async def create_rule(self, tenant_id: str, body: RuleBody) -> RuleOut:
        req = pb.CreateRuleRequest(tenant_id=tenant_id, rule=rule_pb(body))
        return rule_out(await self._call(self._stub.CreateRule, req))

    async def list_rules(self, tenant_id: str) -> list[RuleOut]:
        reply = await self._call(self._stub.ListRules, pb.ListRulesRequest(tenant_id=tenant_id))
        return [rule_out(r) for r in reply.rules]

    async def set_rule_active(self, tenant_id: str, rule_id: str, active: bool) -> RuleOut:
        req = pb.SetRuleActiveRequest(tenant_id=tenant_id, rule_id=rule_id, active=active)
        return rule_out(await self._call(self._stub.SetRuleActive, req))

    # --- Issuing, claims and wallets -----------------------------------------------------------

    async def issue(
        self, tenant_id: str, template_id: str, member_id: str, issue_id: str, issued_by: str
    ) -> ClaimOut:
        req = pb.IssueCouponRequest(
            tenant_id=tenant_id,
            template_id=template_id,
            member_id=member_id,
            issue_id=issue_id,
            issued_by=issued_by,
        )
        return claim_out(await self._call(self._stub.IssueCoupon, req))

    async def compensate(self, tenant_id: str, template_id: str, member_id: str, case_id: str) -> ClaimOut:
        req = pb.IssueCompensationRequest(
            tenant_id=tenant_id, template_id=template_id, member_id=member_id, case_id=case_id
        )
        return claim_out(await self._call(self._stub.IssueCompensation, req))

    async def claim(self, tenant_id: str, template_id: str, member_id: str) -> ClaimOut:
        req = pb.ClaimCouponRequest(tenant_id=tenant_id, template_id=template_id, member_id=member_id)
        return claim_out(await self._call(self._stub.ClaimCoupon, req))

    async def wallet(self, tenant_id: str, member_id: str, states: list[CouponStateName]) -> list[CouponOut]:
        """The member's coupons, newest first; only those in `states` when any are given."""
        req = pb.ListMemberCouponsRequest(
            tenant_id=tenant_id, member_id=member_id, states=[COUPON_STATES[s] for s in dict.fromkeys(states)]
        )
        return [coupon_out(c) for c in (await self._call(self._stub.ListMemberCoupons, req)).coupons]

    async def share(self, tenant_id: str, code: str, from_member_id: str, to_member_id: str) -> CouponOut:
        req = pb.ShareCouponRequest(
            tenant_id=tenant_id, code=code, from_member_id=from_member_id, to_member_id=to_member_id
        )
        return coupon_out(await self._call(self._stub.ShareCoupon, req))

    # --- The till ------------------------------------------------------------------------------

    async def get_coupon(self, tenant_id: str, code: str) -> CouponOut:
        return coupon_out(
            await self._call(self._stub.GetCoupon, pb.GetCouponRequest(tenant_id=tenant_id, code=code))
        )

    async def validate_cart(self, tenant_id: str, body: ValidateCartBody) -> ValidateCartOut:
        req = pb.ValidateCartRequest(
            tenant_id=tenant_id,
            member_id=body.member_id,
            store_id=body.store_id,
            lines=[cart_line_pb(line) for line in body.lines],
        )
        return cart_checks_out(await self._call(self._stub.ValidateCart, req))

    async def lock(self, tenant_id: str, code: str, body: LockBody) -> CouponOut:
        req = pb.LockCouponRequest(
            tenant_id=tenant_id,
            code=code,
            checkout_id=body.checkout_id,
            store_id=body.store_id,
            ttl_seconds=body.ttl_seconds,
        )
        return coupon_out(await self._call(self._stub.LockCoupon, req))

    async def redeem(self, tenant_id: str, code: str, body: RedeemBody, staff_id: str) -> CouponOut:
        """Spends the coupon on the receipt; `staff_id` is who served (the body's, or the session's)."""
        req = pb.RedeemCouponRequest(
            tenant_id=tenant_id,
            code=code,
            receipt_no=body.receipt_no,
            store_id=body.store_id,
            checkout_id=body.checkout_id,
            staff_id=staff_id,
            discount=body.discount,
            receipt_total=body.receipt_total,
            purchase_id=body.purchase_id,
        )
        return coupon_out(await self._call(self._stub.RedeemCoupon, req))

    async def release(self, tenant_id: str, code: str, checkout_id: str) -> CouponOut:
        req = pb.ReleaseCouponRequest(tenant_id=tenant_id, code=code, checkout_id=checkout_id)
        return coupon_out(await self._call(self._stub.ReleaseCoupon, req))
