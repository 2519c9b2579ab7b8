"""docs/api.md, rendered from the service's OpenAPI schema (a test keeps the two in step).

Regenerate from the repository root with:
    .venv/bin/python -c "from model_service.apidoc import main; main()"
"""

from pathlib import Path
from typing import Any

from model_service.core.config import Settings
from model_service.core.registry import ModelRegistry
from model_service.main import create_app

REGENERATE = '.venv/bin/python -c "from model_service.apidoc import main; main()"'
_METHODS = ("get", "post", "put", "patch", "delete")
_CONSTRAINTS = (
    ("minLength", "min length"),
    ("maxLength", "max length"),
    ("minimum", "≥"),
    ("maximum", "≤"),
    ("minItems", "min items"),
    ("maxItems", "max items"),
)


def service_schema() -> dict[str, Any]:
    """The OpenAPI schema; it depends on the code only, not on settings or loaded models."""
    return create_app(Settings(), registry=ModelRegistry()).openapi()


def _anchor(name: str) -> str:
    return name.lower()


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def render_type(schema: dict[str, Any]) -> str:
    """A schema as one table cell: links for references, `or` for unions."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    if "anyOf" in schema:
        return " or ".join(render_type(option) for option in schema["anyOf"])
    if "const" in schema:
        return f"`{schema['const']!r}`".replace("'", '"')
    if "enum" in schema:
        return " or ".join(f'`"{value}"`' for value in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        text = f"array of {render_type(schema.get('items', {}))}"
    elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        text = f"object of {render_type(schema['additionalProperties'])}"
    else:
        text = str(kind)
    limits = [f"{label} {_number(schema[key])}" for key, label in _CONSTRAINTS if key in schema]
    return f"{text} ({', '.join(limits)})" if limits else text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _operation(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`: {operation.get('summary', '')}", ""]
    if operation.get("description"):
        lines += [operation["description"].strip(), ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | required | description |", "|---|---|---|---|"]
        lines += [
            f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} "
            f"| {_cell(p.get('description', ''))} |"
            for p in parameters
        ]
        lines.append("")
    body = operation.get("requestBody")
    if body:
        for media_type, content in body["content"].items():
            lines += [f"Request body (`{media_type}`): {render_type(content['schema'])}", ""]
    lines += ["| status | body | meaning |", "|---|---|---|"]
    for status, response in operation["responses"].items():
        contents = response.get("content", {})
        bodies = [
            render_type(content["schema"]) if "schema" in content else f"`{media_type}`"
            for media_type, content in contents.items()
        ]
        lines.append(
            f"| {status} | {', '.join(bodies) or '-'} | {_cell(response['description'])} |"
        )
    return [*lines, ""]


def _schema_section(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [schema["description"].strip(), ""]
    if "enum" in schema:
        return [*lines, "One of: " + ", ".join(f"`{value}`" for value in schema["enum"]) + ".", ""]
    required = set(schema.get("required", ()))
    lines += ["| field | type | required | default | description |", "|---|---|---|---|---|"]
    for field, spec in schema.get("properties", {}).items():
        default = f"`{spec['default']}`" if "default" in spec else ""
        lines.append(
            f"| `{field}` | {_cell(render_type(spec))} | {'yes' if field in required else 'no'} "
            f"| {default} | {_cell(spec.get('description', ''))} |"
        )
    if schema.get("additionalProperties") is False:
        lines += ["", "Other fields are rejected (422)."]
    return [*lines, ""]


def render_markdown(schema: dict[str, Any]) -> str:
    """The API reference as Markdown: endpoints, then the schemas they use."""
    info = schema["info"]
    lines = [
        f"# {info['title']}: HTTP API",
        "",
        "Generated from the service's OpenAPI schema (`GET /openapi.json`, interactive at `/docs`);",
        f"do not edit by hand. Regenerate from the repository root with `{REGENERATE}`.",
        "",
        info.get("description", "").strip(),
        "",
        "## Endpoints",
        "",
        "| method | path | summary |",
        "|---|---|---|",
    ]
    operations = [
        (path, method, item[method])
        for path, item in schema["paths"].items()
        for method in _METHODS
        if method in item
    ]
    lines += [
        f"| {method.upper()} | `{path}` | {op.get('summary', '')} |"
        for path, method, op in operations
    ]
    lines.append("")
    for path, method, operation in operations:
        lines += _operation(path, method, operation)
    lines += ["## Schemas", ""]
    for name, component in sorted(schema.get("components", {}).get("schemas", {}).items()):
        lines += _schema_section(name, component)
    return "\n".join(lines).rstrip() + "\n"


def main(path: Path = Path("docs/api.md")) -> None:
    """Write the API reference to path (relative to the working directory)."""
    path.write_text(render_markdown(service_schema()), encoding="utf-8")
