"""`python -m services.members`: run the members gRPC service."""

from chassis import runtime, settings
from services.members import bootstrap
from services.members.settings import MembersSettings

if __name__ == "__main__":
    runtime.run("members", settings.load(MembersSettings), bootstrap.wire)
