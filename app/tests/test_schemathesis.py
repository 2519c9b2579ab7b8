"""Property-based run over the app's OpenAPI document: no server errors, answers as documented."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema(app_servers, fake_service, mode: GenerationMode) -> None:
    # Small limits, so that generated input also reaches the length and size refusals.
    server = app_servers(max_url_length=64, max_body_bytes=2048)
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert sorted(op.label for op in operations) == [
        "GET /api/models", "GET /health/live", "GET /health/ready", "GET /metrics",
        "POST /api/feedback", "POST /api/predict",
    ]  # fmt: skip
    if mode is GenerationMode.NEGATIVE:
        operations = [operation for operation in operations if len(operation.body)]
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(
            max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        )
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

        conforms()
