"""GET /api/models: the models a caller may name in `model` (SPEC §7)."""

from dataclasses import asdict

from ninja import Router, Schema

from removal.models import models_list

router = Router(tags=["Background removal"])


class ModelOut(Schema):
    name: str
    size: int
    default: bool


class ModelsOut(Schema):
    models: list[ModelOut]


@router.get("/api/models", response=ModelsOut, summary="Installed models (name, file size in bytes, default)")
def models_get(request):
    return {"models": [asdict(info) for info in models_list()]}
