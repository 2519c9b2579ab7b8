"""All routes of the service in one router."""

from fastapi import APIRouter

from model_service.api.routes import admin, health, metrics, models, predict

api_router = APIRouter()
for module in (predict, models, health, admin, metrics):
    api_router.include_router(module.router)
