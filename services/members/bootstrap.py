"""Wires the members service: the one place that knows every layer."""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel

from chassis.runtime import Runtime, ServiceSpec, Subscription
from services.members.adapters import (
    calendar_mongo,
    directory_mongo,
    events,
    links_mongo,
    merge_mongo,
    mongo,
    points_mongo,
    privacy_mongo,
    programme_mongo,
    purchases_mongo,
    refunds_mongo,
    rule_caps_mongo,
    segments_mongo,
    spending_mongo,
)
from services.members.entrypoints import index
from services.members.entrypoints.calendar_worker import CalendarWorker
from services.members.entrypoints.grpc_servicer import MembersServicer
from services.members.entrypoints.handover_worker import HandoverWorker
from services.members.entrypoints.purchase_completer import PurchaseCompleter
from services.members.service.calendar import Calendar
from services.members.service.directory import Directory, Handovers
from services.members.service.handlers import Members
from services.members.service.merge import Merges
from services.members.service.points import Points
from services.members.service.privacy import Privacy
from services.members.service.profile import Profiles
from services.members.service.programme import Programmes
from services.members.service.purchases import PurchaseEffects, Purchases
from services.members.service.refunds import Refunds
from services.members.service.rule_caps import RuleCaps
from services.members.service.segments import Segments
from services.members.service.tiers import TierReview
from services.members.settings import MembersSettings

INDEXES = (
    mongo.INDEXES
    | programme_mongo.INDEXES
    | {
        directory_mongo.STAFF: [
            IndexModel([("tenant_id", ASCENDING), ("store_code", ASCENDING)], name="store_staff")
        ],
        purchases_mongo.PURCHASES: [purchases_mongo.PENDING_INDEX],
        purchases_mongo.POINTS_ENTRIES: [
            IndexModel(
                [("tenant_id", ASCENDING), ("member_id", ASCENDING), ("at", ASCENDING)], name="member_ledger"
            )
        ],
    }
)


def wire(rt: Runtime) -> ServiceSpec:
    settings = rt.settings
    assert isinstance(settings, MembersSettings)
    topic = settings.topic(events.TOPIC)
    member_repo = mongo.MongoMemberRepository(rt.db, topic, rt.outbox)
    directory_repo = directory_mongo.MongoDirectoryRepository(rt.db)
    handover_repo = directory_mongo.MongoHandoverRepository(rt.db, topic, rt.outbox)
    programmes = programme_mongo.MongoProgrammes(rt.db, topic, rt.outbox)
    purchase_repo = purchases_mongo.MongoPurchaseRepository(rt.db)
    spending = spending_mongo.MongoMemberSpending(rt.db, topic, rt.outbox)
    worker = HandoverWorker(handover_repo)
    ledger = points_mongo.MongoPointsLedger(rt.db, topic, rt.outbox)
    points = Points(ledger, programmes)
    effects = PurchaseEffects(purchase_repo, spending, ledger, programmes)
    caps = RuleCaps(rule_caps_mongo.MongoCapHolds(rt.db), purchase_repo)
    refunds = Refunds(
        refunds_mongo.MongoRefundRepository(rt.db, topic, rt.outbox), spending, ledger, programmes
    )
    calendar = Calendar(
        calendar_mongo.MongoCalendar(rt.db, topic, rt.outbox),
        programmes,
        points,
        TierReview(spending, programmes),
    )
    calendar_worker = CalendarWorker(calendar)
    region = settings.default_phone_region
    directory = Directory(directory_repo)
    servicer = MembersServicer(
        members=Members(
            member_repo, directory_repo, links_mongo.MongoMemberLinks(rt.db), spending, programmes, region
        ),
        profiles=Profiles(member_repo, directory_repo, region),
        directory=directory,
        handovers=Handovers(directory, handover_repo, started=worker.nudge),
        purchases=Purchases(directory_repo, purchase_repo, effects, programmes, spending, caps),
        refunds=refunds,
        points=points,
        programmes=Programmes(programmes),
        segments=Segments(segments_mongo.MongoSegmentRepository(rt.db), directory_repo),
        calendar=calendar,
        privacy=Privacy(privacy_mongo.MongoPrivacy(rt.db, topic, rt.outbox)),
        merges=Merges(merge_mongo.MongoMerge(rt.db, topic, rt.outbox), ledger, programmes),
    )
    table = index.handlers(servicer, refunds)  # every command and event, and what handles it
    return ServiceSpec(
        grpc_services=[(table.name, table.register)],
        indexes=INDEXES,
        outbox_collections=[
            mongo.MEMBERS,
            directory_mongo.HANDOVER_BATCHES,
            purchases_mongo.PURCHASES,
            calendar_mongo.CALENDAR_EVENTS,
            programme_mongo.PROGRAMMES,
        ],
        produces=[topic],
        subscription=Subscription(topics=[topic], handlers=dict(table.events)),
        # Each loop is safe on every replica at once; its module says why.
        background=[worker.run, calendar_worker.run, PurchaseCompleter(effects, caps).run],
    )
