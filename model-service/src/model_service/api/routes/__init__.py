"""One router per resource; `model_service.api.main` mounts them."""
