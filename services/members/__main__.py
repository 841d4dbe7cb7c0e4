"""`python -m services.members`: run the members gRPC service."""

from chassis import runtime, settings
from services.members import bootstrap

if __name__ == "__main__":
    runtime.run("members", settings.load(settings.ServiceSettings), bootstrap.wire)
