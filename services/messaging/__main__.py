"""`python -m services.messaging`: run the messaging gRPC service and its consumers."""

from chassis import runtime, settings
from services.messaging import bootstrap
from services.messaging.settings import MessagingSettings

if __name__ == "__main__":
    runtime.run("messaging", settings.load(MessagingSettings), bootstrap.wire)
