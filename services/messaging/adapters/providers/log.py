"""The log as a channel: for local development and for channels with no provider configured.

Every message "goes" by being written to the structured log, and counts as sent. The address is
masked (the last four characters of a phone number or openid at most), so the log never holds
one: enough to tell two members apart while debugging, not to reach them. The rendered text
greets the member by name, so it is logged at DEBUG only (a developer's machine), never in the
INFO line a production replica writes for a channel that has no provider yet.
"""

from __future__ import annotations

from chassis import logs
from services.messaging.domain.channels import Channel
from services.messaging.service.ports import Address, Outgoing, ProviderResult

log = logs.get(__name__)


def masked(value: str) -> str:
    """ "…" and the last four characters; "" stays ""."""
    return "…" + value[-4:] if len(value) > 4 else ("…" if value else "")


def _address(to: Address) -> str:
    if to.phone:
        return f"phone {masked(to.phone)}"
    if to.openid:
        return f"openid {masked(to.openid)}"
    return to.webhook_url  # the tenant's own endpoint: not personal data


class LogProvider:
    def __init__(self, name: str = "log") -> None:
        self.name = name

    async def send(self, out: Outgoing) -> ProviderResult:
        log.info(
            "message_logged",
            provider=self.name,
            message_id=out.message_id,
            tenant_id=out.tenant_id,
            member_id=out.member_id,
            channel=str(out.channel),
            message_class=str(out.message_class),
            template_id=out.template_id,
            attempt=out.attempt,
            to=_address(out.to),
        )
        log.debug("message_text", message_id=out.message_id, title=out.title, body=out.body)
        return ProviderResult(ok=True, provider=self.name, provider_message_id=f"log-{out.message_id}")

    async def aclose(self) -> None:
        """Nothing to close; here so every provider can be closed alike."""


def unconfigured(channel: Channel) -> LogProvider:
    """The stand-in for a channel whose provider has no settings: named so the message history
    says the message went to the log, not to the member."""
    log.warning("channel_goes_to_log", channel=str(channel))
    return LogProvider(name=f"log:{channel}")
