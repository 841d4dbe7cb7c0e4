"""Wires the members service: the one place that knows every layer."""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel
from regulars.members.v1 import members_pb2, members_pb2_grpc

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
    purchases_mongo,
    refunds_mongo,
    segments_mongo,
    tiers_mongo,
)
from services.members.domain import points, tiers
from services.members.entrypoints import consumer
from services.members.entrypoints.calendar_worker import CalendarWorker
from services.members.entrypoints.grpc_servicer import MembersServicer
from services.members.entrypoints.handover_worker import HandoverWorker
from services.members.entrypoints.purchase_completer import PurchaseCompleter

SERVICE_NAME = members_pb2.DESCRIPTOR.services_by_name["MembersService"].full_name

INDEXES = mongo.INDEXES | {
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


def wire(rt: Runtime) -> ServiceSpec:
    topic = rt.settings.topic(events.TOPIC)
    members = mongo.MongoMemberRepository(rt.db, topic, rt.outbox)
    directory = directory_mongo.MongoDirectoryRepository(rt.db)
    handovers = directory_mongo.MongoHandoverRepository(rt.db, topic, rt.outbox)
    purchases = purchases_mongo.MongoPurchaseRepository(rt.db, topic, rt.outbox, tiers.DEFAULT_LADDER)
    refunds = refunds_mongo.MongoRefundRepository(rt.db, topic, rt.outbox, tiers.DEFAULT_LADDER)
    worker = HandoverWorker(handovers)
    ledger = points_mongo.MongoPointsLedger(rt.db, topic, rt.outbox)
    calendar = calendar_mongo.MongoCalendar(
        rt.db,
        topic,
        rt.outbox,
        rt.settings.dormant_days,
        ledger,
        tiers_mongo.MongoTierReview(rt.db, topic, rt.outbox, tiers.DEFAULT_LADDER),
    )
    calendar_worker = CalendarWorker(calendar)
    servicer = MembersServicer(
        members,
        directory,
        handovers,
        rt.settings.default_phone_region,
        worker.nudge,
        purchases,
        points.PointsPolicy(),
        segments_mongo.MongoSegmentRepository(rt.db),
        refunds,
        calendar,
        privacy_mongo.MongoPrivacy(rt.db, topic, rt.outbox),
        merge_mongo.MongoMerge(rt.db, topic, rt.outbox, tiers.DEFAULT_LADDER),
        links_mongo.MongoMemberLinks(rt.db),
        ledger,
    )
    return ServiceSpec(
        grpc_services=[
            (SERVICE_NAME, lambda s: members_pb2_grpc.add_MembersServiceServicer_to_server(servicer, s))
        ],
        indexes=INDEXES,
        outbox_collections=[
            mongo.MEMBERS,
            directory_mongo.HANDOVER_BATCHES,
            purchases_mongo.PURCHASES,
            calendar_mongo.CALENDAR_EVENTS,
        ],
        produces=[topic],
        subscription=Subscription(topics=[topic], handlers=consumer.subscriptions(purchases, refunds)),
        # Each loop is safe on every replica at once; its module says why.
        background=[worker.run, calendar_worker.run, PurchaseCompleter(purchases).run],
    )
