"""Wires the coupons service: the one place that knows every layer."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from chassis.runtime import Runtime, ServiceSpec, Subscription
from services.coupons.adapters import coupons_mongo, events, rules_mongo, templates_mongo
from services.coupons.adapters.audience_mongo import MongoAudience
from services.coupons.adapters.jobs_mongo import MongoJobs
from services.coupons.adapters.members_client import MembersClient
from services.coupons.adapters.recent_templates import RecentTemplates
from services.coupons.adapters.stock_mongo import MongoStockNumbers
from services.coupons.entrypoints import index
from services.coupons.entrypoints.grpc_servicer import CouponsServicer
from services.coupons.entrypoints.workers import ExpiryWorker, ScheduleWorker
from services.coupons.service.catalogue import Catalogue
from services.coupons.service.housekeeping import BudgetBook, Expiry
from services.coupons.service.issuing import Issuer
from services.coupons.service.jobs import JobRunner
from services.coupons.service.rules import RuleEngine
from services.coupons.service.till import Till
from services.coupons.service.wallet import Wallet
from services.coupons.settings import CouponsSettings

MEMBERS_TOPIC = "regulars.members.v1"


def wire(rt: Runtime) -> ServiceSpec:
    settings = rt.settings
    assert isinstance(settings, CouponsSettings)
    tz = ZoneInfo(settings.time_zone)
    coupons = coupons_mongo.MongoCoupons(rt.db, settings.topic(events.TOPIC), rt.outbox)
    templates = templates_mongo.MongoTemplates(rt.db)
    stock = MongoStockNumbers(rt.db)
    audience = MongoAudience(rt.db)
    job_store = MongoJobs(rt.db)
    rule_store = rules_mongo.MongoRules(rt.db)
    members = MembersClient(settings.members_grpc_addr)
    recent = RecentTemplates(templates, settings.template_kept_seconds)
    issuer = Issuer(recent, coupons, stock, audience, tz, members)
    jobs = JobRunner(job_store, members, issuer, audience, templates)
    rules = RuleEngine(rule_store, issuer, jobs)
    till = Till(coupons, templates)
    wallet = Wallet(coupons, audience)
    expiry = Expiry(coupons, settings.coupon_expiring_days)
    servicer = CouponsServicer(
        catalogue=Catalogue(templates, coupons, jobs.start_audience),
        issuer=issuer,
        till=till,
        wallet=wallet,
        jobs=jobs,
        rules=rules,
        expiry=expiry,
    )
    table = index.handlers(servicer, audience, till, wallet, rules)  # every command and event
    return ServiceSpec(
        grpc_services=[(table.name, table.register)],
        indexes=coupons_mongo.INDEXES | templates_mongo.INDEXES | rules_mongo.INDEXES,
        outbox_collections=[coupons_mongo.COUPONS],
        produces=[settings.topic(events.TOPIC)],
        subscription=Subscription(
            topics=[settings.topic(MEMBERS_TOPIC)],
            handlers=dict(table.events),
        ),
        background=[
            jobs.run,
            ExpiryWorker(expiry, settings.expiry_poll_seconds, budget=BudgetBook(coupons, templates)).run,
            ScheduleWorker(rules).run,
        ],
        closing=[members.close],
    )
