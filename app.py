"""The AILAS Fair-Trade Voice Registry: Chalice entry point. Thin on purpose: it builds the app,
registers the blueprints of ``functions/`` and the cross-cutting middleware."""

from chalice import Chalice

from functions import middleware
from functions.api import (
    audits,
    business,
    intents,
    labels,
    logs,
    members,
    meta,
    screens,
    traces,
    voices,
)
from functions.events import audit_poll, domain, ingest, schedule, signer
from functions.portal import member, public, tracing

app = Chalice(app_name="ailas")
app.api.binary_types = ["application/octet-stream", "multipart/form-data"]

middleware.install(app)
for blueprint in (
    meta.bp,
    members.bp,
    intents.bp,
    voices.bp,
    business.bp,
    labels.bp,
    traces.bp,
    screens.bp,
    audits.bp,
    logs.bp,
    public.bp,
    member.bp,
    tracing.bp,
    ingest.bp,
    audit_poll.bp,
    domain.bp,
    schedule.bp,
    signer.bp,
):
    app.register_blueprint(blueprint)
