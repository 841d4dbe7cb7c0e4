"""Automatic rules: issue a template when something happens, at most once per triggering event.

A rule's coupon for an event is issued with the key (rule, event id): the event delivered
again, or a second replica consuming it, finds the coupon already issued. A scheduled rule
starts an issue job keyed (rule, date), so running a day twice starts one job.
"""

from __future__ import annotations

from datetime import date

from chassis import logs
from chassis.errors import NotFound
from services.coupons.domain.coupons import Source
from services.coupons.domain.rules import Rule, Trigger
from services.coupons.service.issuing import Issuer, IssueResult
from services.coupons.service.jobs import JobRunner
from services.coupons.service.ports import RuleRepository

log = logs.get(__name__)


class RuleEngine:
    def __init__(self, rules: RuleRepository, issuer: Issuer, jobs: JobRunner) -> None:
        self._rules = rules
        self._issuer = issuer
        self._jobs = jobs

    async def create(self, rule: Rule) -> Rule:
        await self._issuer.template(rule.tenant_id, rule.template_id)  # NOT_FOUND for a foreign template
        await self._rules.add(rule)
        return rule

    async def of_tenant(self, tenant_id: str) -> list[Rule]:
        return await self._rules.of_tenant(tenant_id)

    async def set_active(self, tenant_id: str, rule_id: str, active: bool) -> Rule:
        rule = await self._rules.set_active(tenant_id, rule_id, active)
        if rule is None:
            raise NotFound(f"rule {rule_id} not found")
        return rule

    async def on_event(
        self,
        tenant_id: str,
        trigger: Trigger,
        event_id: str,
        member_id: str,
        *,
        spend: int = 0,
        tier: str = "",
    ) -> list[IssueResult]:
        """Issue every active rule of this trigger to `member_id`, once per (rule, event)."""
        results = []
        for rule in await self._rules.active(tenant_id, trigger.value):
            if rule.min_spend and spend < rule.min_spend:
                continue
            if rule.tiers and tier not in rule.tiers:
                continue
            result = await self._issuer.issue(
                tenant_id,
                rule.template_id,
                member_id,
                source=Source.RULE,
                key=f"{rule.id}:{event_id}",
                source_ref=rule.id,
            )
            log.info("rule fired", rule=rule.id, member_id=member_id, outcome=result.outcome.value)
            results.append(result)
        return results

    async def run_schedule(self, day: date) -> int:
        """Start the issue job of every scheduled rule due on `day`; a second run starts none."""
        started = 0
        for rule in await self._rules.scheduled(day.day):
            _, created = await self._jobs.start_issue_once(
                rule.tenant_id, rule.template_id, rule.segment_id, f"rule:{rule.id}:{day.isoformat()}"
            )
            started += created
        return started
