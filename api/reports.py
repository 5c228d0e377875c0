"""Report a bad cut-out over the API: a batch item, or a /rmbg answer made with an Idempotency-Key.

Thin: parse the fields (a form or JSON), call one service, answer 201 {"id", "status": "received"}.
The report (the original and the result, the consent and the note) lands in the operators' queue in
the admin, as the editor's "Report a bad cut-out" does.
"""

import json

from django.http import JsonResponse
from ninja import Field, Router, Schema

from api.auth import key_or_token
from api.rmbg_report import rmbg_report
from api.schemas import ErrorOut
from billing import ratelimit
from cutouts.models import Report
from cutouts.reports import NOTE_MAX, consent_parse
from jobs.reports import item_report
from removal.errors import ValidationFailed

router = Router(tags=["Reports of bad cut-outs"])


class ReportOut(Schema):
    id: str = Field(description="The report's id")
    status: str = Field(description='"received": the operators will look at it')


ERRORS_REPORT = {code: ErrorOut for code in (400, 401, 403, 404, 429, 500, 503)}
ERRORS_ITEM_REPORT = ERRORS_REPORT | {409: ErrorOut}  # the item has no result (yet)
_CONSENT = {"type": "boolean", "description": "Required, true: you agree to send the image and its cut-out "
                                              "to the operators"}
_NOTE = {"type": "string", "maxLength": NOTE_MAX, "description": "What is wrong (optional)"}


def _openapi(properties: dict) -> dict:
    schema = {"type": "object", "required": ["consent", *[n for n in properties if n != "note"]],
              "properties": {**properties, "consent": _CONSENT, "note": _NOTE}}
    return {"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": schema}, "application/x-www-form-urlencoded": {"schema": schema},
        "application/json": {"schema": schema}}}}


def _fields(request) -> dict:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ValidationFailed([("body", "The body is not a JSON object.")])
        return body
    return {name: request.POST.get(name) for name in request.POST}


def _received(report: Report) -> JsonResponse:
    return JsonResponse({"id": str(report.pk), "status": "received"}, status=201)


@router.post("/api/jobs/{job_id}/items/{index}/report", auth=key_or_token(),
             response={201: ReportOut} | ERRORS_ITEM_REPORT, openapi_extra=_openapi({}),
             summary="Report a bad cut-out of a batch item", operation_id="jobs_item_report")
def jobs_item_report(request, job_id: str, index: int):
    """Sends the item's result and its uploaded image (an `image_url` item: the URL) to the operators."""
    ratelimit.ratelimit_check(caller=request.auth)  # a report is a request like any other
    fields = _fields(request)
    report = item_report(user=request.auth.user, job_id=job_id, index=index,
                         consent=consent_parse(fields.get("consent")), note=str(fields.get("note") or ""))
    return _received(report)


@router.post("/rmbg/report", auth=key_or_token(), response={201: ReportOut} | ERRORS_REPORT,
             openapi_extra=_openapi({"idempotency_key": {
                 "type": "string", "description": "The Idempotency-Key header of the POST /rmbg request "
                                                  "(its result is kept 24 h)"}}),
             summary="Report a bad cut-out of POST /rmbg (by its Idempotency-Key)",
             operation_id="rmbg_report")
def rmbg_result_report(request):
    """Sends the request's image and its result to the operators. Test keys' cut-outs cannot be reported."""
    ratelimit.ratelimit_check(caller=request.auth)  # a report is a request like any other
    fields = _fields(request)
    report = rmbg_report(caller=request.auth, idempotency_key=str(fields.get("idempotency_key") or ""),
                         consent=consent_parse(fields.get("consent")), note=str(fields.get("note") or ""))
    return _received(report)
