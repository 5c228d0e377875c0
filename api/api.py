"""The one NinjaAPI: /rmbg, /api/rmbg, /api/membership-usage, /api/models, /api/jobs, the reports of bad
cut-outs, /api/openapi, /api/docs."""

from ninja import NinjaAPI

from api import jobs, models, reports, rmbg, usage
from api.errors import install_error_handlers

api = NinjaAPI(
    title="Cutout API",
    version="1.0",
    description=(
        "[← Back to Cutout](/) · [Your API keys](/profile/) · [Usage](/account/usage/)\n\n"
        "Background removal compatible with the rembg.com API. Press **Authorize** once, enter "
        "your API key under `ApiKey` (created in your profile; a `ck_test_…` key is free), and "
        "try `POST /rmbg` with just a file: every other field is optional. The same "
        "authorization serves `GET /api/membership-usage`, the batch jobs, and the reports of a bad cut-out "
        "(`POST /rmbg/report` by the request's Idempotency-Key, `POST /api/jobs/{id}/items/{index}/report`): "
        "with your consent, the image and its result go to the operators."
    ),
    urls_namespace="api",
    openapi_url="/api/openapi",
    docs_url="/api/docs",
)
install_error_handlers(api)
api.add_router("", rmbg.router)
api.add_router("", usage.router)
api.add_router("", models.router)
api.add_router("", jobs.router)
api.add_router("", reports.router)
