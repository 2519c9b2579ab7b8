"""docs/api.md is the rendering of the current OpenAPI schema."""

from pathlib import Path

from model_service.apidoc import REGENERATE, render_markdown, render_type, service_schema

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_committed_api_doc_is_up_to_date() -> None:
    rendered = render_markdown(service_schema())
    committed = API_DOC.read_text(encoding="utf-8") if API_DOC.is_file() else ""
    assert committed == rendered, (
        f"docs/api.md is out of date with the OpenAPI schema; regenerate it from the "
        f"repository root with:  {REGENERATE}"
    )


def test_api_doc_covers_every_operation_and_schema() -> None:
    schema = service_schema()
    rendered = render_markdown(schema)
    for path, item in schema["paths"].items():
        for method in item:
            assert f"`{method.upper()} {path}`" in rendered
            for parameter in item[method].get("parameters", []):
                assert f"| `{parameter['name']}` | {parameter['in']} |" in rendered
    for name in schema["components"]["schemas"]:
        assert f"### {name}\n" in rendered


def test_types_render_readably() -> None:
    assert (
        render_type({"$ref": "#/components/schemas/PredictRequest"})
        == "[PredictRequest](#predictrequest)"
    )
    assert render_type({"anyOf": [{"type": "string"}, {"type": "null"}]}) == "string or null"
    assert (
        render_type({"type": "array", "items": {"type": "string"}, "minItems": 1})
        == "array of string (min items 1)"
    )
    assert (
        render_type({"type": "integer", "minimum": 0.0, "maximum": 20.0}) == "integer (≥ 0, ≤ 20)"
    )
    assert render_type({"type": "number", "minimum": 0.5}) == "number (≥ 0.5)"
    assert (
        render_type({"type": "object", "additionalProperties": {"type": "number"}})
        == "object of number"
    )
    assert render_type({"const": "alive"}) == '`"alive"`'
    assert render_type({"enum": ["a", "b"]}) == '`"a"` or `"b"`'
    assert render_type({}) == "any"


def test_main_writes_the_doc(tmp_path: Path) -> None:
    from model_service.apidoc import main

    target = tmp_path / "api.md"
    main(target)
    assert target.read_text(encoding="utf-8") == render_markdown(service_schema())
