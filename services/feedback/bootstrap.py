"""Wires the feedback service: reviews, complaint cases, their clock, the policy, satisfaction
surveys (from members' purchase_made), questions and suggestions, evidence packs (with the
messages messaging sent), and the erasure of a member (members' member_erased)."""

from __future__ import annotations

from chassis.runtime import Runtime, ServiceSpec, Subscription
from services.feedback.adapters import budget_mongo, cases_mongo, events, policy_mongo, reviews_mongo
from services.feedback.adapters.coupons_client import CouponsClient
from services.feedback.adapters.erasures_mongo import MongoErasures
from services.feedback.adapters.members_client import MembersClient
from services.feedback.adapters.messaging_client import MessagingClient
from services.feedback.adapters.purchases_mongo import INDEXES as PURCHASE_INDEXES
from services.feedback.adapters.purchases_mongo import MongoPurchaseCounts
from services.feedback.adapters.surveys_mongo import INDEXES as SURVEY_INDEXES
from services.feedback.adapters.surveys_mongo import SURVEYS, MongoSurveys
from services.feedback.adapters.threads_mongo import INDEXES as THREAD_INDEXES
from services.feedback.adapters.threads_mongo import THREADS, MongoThreads
from services.feedback.entrypoints import index
from services.feedback.entrypoints.grpc_servicer import FeedbackServicer
from services.feedback.entrypoints.workers import CaseClockWorker
from services.feedback.service.cases import Cases
from services.feedback.service.clock import CaseClock
from services.feedback.service.erasure import Erasure
from services.feedback.service.evidence import Evidence
from services.feedback.service.opening import CaseOpening
from services.feedback.service.policy import Policies
from services.feedback.service.reports import Reports
from services.feedback.service.resolving import Resolutions
from services.feedback.service.reviews import Reviews
from services.feedback.service.surveys import Surveys
from services.feedback.service.threads import Threads
from services.feedback.settings import FeedbackSettings

MEMBERS_TOPIC = "regulars.members.v1"  # purchase_made: a satisfaction survey; member_erased


def wire(rt: Runtime) -> ServiceSpec:
    settings = rt.settings
    assert isinstance(settings, FeedbackSettings)
    topic = settings.topic(events.TOPIC)
    members = MembersClient(settings.members_grpc_addr)
    coupons = CouponsClient(settings.coupons_grpc_addr)
    messaging = MessagingClient(settings.messaging_grpc_addr)
    review_store = reviews_mongo.MongoReviews(rt.db, topic, rt.outbox)
    case_store = cases_mongo.MongoCases(rt.db, topic, rt.outbox)
    survey_store = MongoSurveys(rt.db, topic, rt.outbox)
    thread_store = MongoThreads(rt.db, topic, rt.outbox)
    policy_store = policy_mongo.MongoPolicies(rt.db)
    purchases = MongoPurchaseCounts(rt.db)
    erasures = MongoErasures(rt.db)
    erasure = Erasure(erasures, review_store, case_store, thread_store, survey_store)
    opening = CaseOpening(
        case_store, review_store, members, policy_store, purchases=purchases, erasures=erasures
    )
    reviews = Reviews(review_store, opening, members, policy_store, erasure=erasure)
    resolutions = Resolutions(case_store, policy_store, budget_mongo.MongoBudgets(rt.db), coupons, members)
    surveys = Surveys(survey_store, opening, members, policy_store, erasure=erasure)
    threads = Threads(thread_store, policy_store, erasure=erasure)
    clock = CaseClock(case_store, resolutions, surveys, threads)
    reports = Reports(case_store, review_store, purchases, policy_store)
    evidence = Evidence(review_store, case_store, thread_store, survey_store, messaging)
    servicer = FeedbackServicer(
        reviews=reviews,
        opening=opening,
        cases=Cases(case_store, review_store),
        resolutions=resolutions,
        policies=Policies(policy_store),
        clock=clock,
        reports=reports,
        evidence=evidence,
    )
    servicer.serve_surveys(surveys, threads)
    table = index.handlers(
        servicer, reviews, opening, surveys, reports, erasure
    )  # every command and event, its handler
    return ServiceSpec(
        grpc_services=[(table.name, table.register)],
        indexes=reviews_mongo.INDEXES
        | cases_mongo.INDEXES
        | policy_mongo.INDEXES
        | budget_mongo.INDEXES
        | SURVEY_INDEXES
        | THREAD_INDEXES
        | PURCHASE_INDEXES,
        outbox_collections=[reviews_mongo.REVIEWS, cases_mongo.CASES, SURVEYS, THREADS],
        produces=[topic],
        subscription=Subscription(topics=[topic, settings.topic(MEMBERS_TOPIC)], handlers=dict(table.events)),
        background=[CaseClockWorker(clock, settings.case_clock_seconds).run],
        closing=[members.close, coupons.close, messaging.close],
    )
