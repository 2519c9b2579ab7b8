"""GET /v1/models."""

from typing import Any

from fastapi import APIRouter, Request

from model_service.api.deps import RegistryDep
from model_service.api.schemas import ModelsResponse, ModelSummary

router = APIRouter(prefix="/v1/models", tags=["models"])


def metrics_summary(metrics: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The scalar metrics of each split (counts, matrices and slices stay in the artifact)."""
    return {
        split: {
            key: float(value)
            for key, value in values.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }
        for split, values in metrics.items()
        if isinstance(values, dict)
    }


@router.get("", summary="List the loaded models")
async def list_models(request: Request, registry: RegistryDep) -> ModelsResponse:
    """Name, family, version, metrics summary of every loaded model, and the default."""
    return ModelsResponse(
        service_version=request.app.version,
        default=registry.default,
        models=[
            ModelSummary(
                name=name,
                family=predictor.family,
                version=predictor.version,
                default=name == registry.default,
                threshold=predictor.threshold,
                metrics=metrics_summary(predictor.metrics),
                refit_on_validation=predictor.manifest.get("refit_on_validation"),
            )
            for name, predictor in sorted(registry.models.items())
        ],
    )
