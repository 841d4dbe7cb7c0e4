"""`python -m services.feedback`: run the feedback gRPC service."""

from chassis import runtime, settings
from services.feedback import bootstrap
from services.feedback.settings import FeedbackSettings

if __name__ == "__main__":
    runtime.run("feedback", settings.load(FeedbackSettings), bootstrap.wire)
