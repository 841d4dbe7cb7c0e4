"""Everything the coupons service does: each gRPC command and each event it consumes, and the
function that handles it. bootstrap.py wires the gRPC server and the consumer from this table;
a command missing here, or one the proto does not declare, stops the service at start-up.
"""

from __future__ import annotations

from regulars.coupons.v1 import coupons_pb2

from chassis.handlers import Handlers
from services.coupons.entrypoints import consumer
from services.coupons.entrypoints.grpc_servicer import CouponsServicer
from services.coupons.service.ports import AudienceProjection
from services.coupons.service.rules import RuleEngine
from services.coupons.service.till import Till
from services.coupons.service.wallet import Wallet

SERVICE = coupons_pb2.DESCRIPTOR.services_by_name["CouponsService"]


def handlers(
    s: CouponsServicer, audience: AudienceProjection, till: Till, wallet: Wallet, rules: RuleEngine
) -> Handlers:
    return Handlers(
        service=SERVICE,
        commands={
            # Templates (staff)
            "CreateTemplate": s.CreateTemplate,
            "GetTemplate": s.GetTemplate,
            "ListTemplates": s.ListTemplates,
            "UpdateTemplate": s.UpdateTemplate,
            "SetTemplateState": s.SetTemplateState,
            "GetTemplateReport": s.GetTemplateReport,
            # Getting a coupon: a claim, an issue, a compensation, a job over a segment
            "ClaimCoupon": s.ClaimCoupon,
            "IssueCoupon": s.IssueCoupon,
            "IssueCompensation": s.IssueCompensation,
            "StartIssueJob": s.StartIssueJob,
            "GetIssueJob": s.GetIssueJob,
            # The wallet
            "ListMemberCoupons": s.ListMemberCoupons,
            "GetCoupon": s.GetCoupon,
            "ShareCoupon": s.ShareCoupon,
            # The till
            "ValidateCart": s.ValidateCart,
            "LockCoupon": s.LockCoupon,
            "RedeemCoupon": s.RedeemCoupon,
            "ReleaseCoupon": s.ReleaseCoupon,
            # Automatic rules
            "CreateRule": s.CreateRule,
            "ListRules": s.ListRules,
            "SetRuleActive": s.SetRuleActive,
            # Housekeeping (the service also runs these by itself)
            "RunExpiry": s.RunExpiry,
            "RunSchedule": s.RunSchedule,
        },
        # From members (consumer.py): its audience projection (registered, tier, blacklist,
        # erased), merged wallets, redemptions from receipts, rollbacks on full refunds, and the
        # triggers of automatic rules (registration, purchase, birthday month, referral).
        events=consumer.subscriptions(audience, till, wallet, rules),
    )
