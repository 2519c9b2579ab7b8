"""Property-based run over /openapi.json: no server errors, every response as documented."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from model_service.core.config import Settings
from model_service.core.registry import ModelRegistry
from model_service.main import create_app

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema(
    settings: Settings, registry: ModelRegistry, mode: GenerationMode
) -> None:
    # Small limits, so that generated input also reaches the length, batch and size errors.
    limited = settings.model_copy(
        update={"max_url_length": 64, "max_batch": 5, "max_body_bytes": 2048}
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(limited, registry))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7
    if mode is GenerationMode.NEGATIVE:
        # Only a request body can be wrong: the other operations take no input at all.
        operations = [operation for operation in operations if len(operation.body)]
        assert len(operations) == 2
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(
            max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        )
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

        conforms()
