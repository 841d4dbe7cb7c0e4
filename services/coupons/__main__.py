"""`python -m services.coupons`: run the coupons gRPC service."""

from chassis import runtime, settings
from services.coupons import bootstrap
from services.coupons.settings import CouponsSettings

if __name__ == "__main__":
    runtime.run("coupons", settings.load(CouponsSettings), bootstrap.wire)
