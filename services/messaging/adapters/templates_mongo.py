"""Message templates in MongoDB: one document per (tenant, template id), `_id` = "tenant:id"
(a template id has no ":", so two tenants' ids never meet).

A first save inserts version 1 (the `_id` index lets one of two first saves win); a later one
replaces the fields only while the stored version is still the one the saver read (`version`
in the filter) and makes it version + 1, so of two concurrent saves one wins and the other is
told (False) and tries again on a fresh read (service.templates), never overwriting unseen.
"""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document, find_for_tenant, insert_once, retry_busy
from services.messaging.domain.channels import Channel, MessageClass
from services.messaging.domain.templates import ChannelText, Template

TEMPLATES = "message_templates"
LIST_MAX = 1000  # a tenant has tens of templates; the list is bounded all the same
INDEXES = {
    TEMPLATES: [
        IndexModel(
            [("tenant_id", ASCENDING), ("template_id", ASCENDING)], name="tenant_templates", unique=True
        ),
    ],
}


def _id(tenant_id: str, template_id: str) -> str:
    return f"{tenant_id}:{template_id}"


def to_doc(t: Template) -> Document:
    return {
        "tenant_id": t.tenant_id,
        "template_id": t.id,
        "name": t.name,
        "message_class": t.message_class.value,
        "texts": {
            channel.value: {"title": x.title, "body": x.body, "provider_template_id": x.provider_template_id}
            for channel, x in t.texts.items()
        },
        "script": t.script,
        "task_due_hours": t.task_due_hours,
        "version": t.version,
        "updated_at": t.updated_at,
        "updated_by": t.updated_by,
    }


def from_doc(doc: Document) -> Template:
    return Template(
        tenant_id=doc["tenant_id"],
        id=doc["template_id"],
        name=doc["name"],
        message_class=MessageClass(doc["message_class"]),
        texts={
            Channel(channel): ChannelText(
                body=x["body"],
                title=x.get("title", ""),
                provider_template_id=x.get("provider_template_id", ""),
            )
            for channel, x in doc["texts"].items()
        },
        script=doc.get("script", ""),
        task_due_hours=doc.get("task_due_hours", 24),
        version=doc["version"],
        updated_at=doc.get("updated_at"),
        updated_by=doc.get("updated_by", ""),
    )


class MongoTemplates:
    """ports.TemplateStore for the dispatcher, and service.templates.TemplateRepository."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._templates = db[TEMPLATES]

    async def get(self, tenant_id: str, template_id: str) -> Template | None:
        doc = await find_for_tenant(self._templates, tenant_id, _id(tenant_id, template_id))
        return None if doc is None else from_doc(doc)

    async def for_tenant(self, tenant_id: str) -> list[Template]:
        """The tenant's templates by id."""
        found = self._templates.find({"tenant_id": tenant_id}).sort("template_id", ASCENDING).limit(LIST_MAX)
        return [from_doc(doc) async for doc in found]

    async def insert(self, template: Template) -> bool:
        """Version 1 of a new template; False when one with its id exists already."""
        return await insert_once(
            self._templates, {"_id": _id(template.tenant_id, template.id), **to_doc(template)}
        )

    async def replace(self, template: Template) -> bool:
        """Becomes `template.version` if the stored one is still the version before; False if not."""
        tenant_id = template.tenant_id
        result = await retry_busy(
            lambda: self._templates.update_one(
                {"_id": _id(tenant_id, template.id), "tenant_id": tenant_id, "version": template.version - 1},
                {"$set": to_doc(template)},
            )
        )
        return result.matched_count == 1
