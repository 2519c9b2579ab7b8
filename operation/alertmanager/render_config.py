"""Write the Alertmanager configuration from alertmanager.yml and the environment.

Alertmanager does not expand environment variables in its configuration file, and the SMTP
relay differs per deployment, so alertmanager.yml is a template: some values are `${NAME}`
placeholders, each a whole YAML value. This fills them from the environment at start-up and
writes the file Alertmanager reads. Values are typed (a boolean stays a boolean) and emitted
by the YAML dumper, so no value can change the structure of the configuration.

The SMTP password never passes through here: the configuration names the file holding it
(`smtp_auth_password_file`, e.g. a mounted Kubernetes Secret) and Alertmanager reads it.

    python operation/alertmanager/render_config.py --out /run/alertmanager/alertmanager.yml
"""

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent / "alertmanager.yml"
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True)
class Setting:
    description: str
    default: str | None = None  # None: the variable is required
    boolean: bool = False


SETTINGS: dict[str, Setting] = {
    "PHISHLINE_ALERT_SMTP_SMARTHOST": Setting("SMTP relay as host:port"),
    "PHISHLINE_ALERT_EMAIL_FROM": Setting("sender address of the alert emails"),
    "PHISHLINE_ALERT_EMAIL_TO": Setting("recipient address(es), comma-separated"),
    "PHISHLINE_ALERT_SMTP_USERNAME": Setting("SMTP user; empty: no authentication", ""),
    "PHISHLINE_ALERT_SMTP_PASSWORD_FILE": Setting("file holding the SMTP password", ""),
    "PHISHLINE_ALERT_SMTP_REQUIRE_TLS": Setting("STARTTLS required (true|false)", "true", True),
}


class ConfigTemplateError(ValueError):
    """The environment or the template cannot make a configuration."""


def settings_from(environ: Mapping[str, str]) -> dict[str, Any]:
    """The value of every setting, or an error naming all missing and malformed ones."""
    values: dict[str, Any] = {}
    problems = []
    for name, setting in SETTINGS.items():
        raw = environ.get(name, setting.default)
        if raw is None:
            problems.append(f"{name} is not set ({setting.description})")
        elif setting.default is None and not raw.strip():
            # Rendered empty, Alertmanager would refuse the file only when it starts.
            problems.append(f"{name} is empty ({setting.description})")
        elif setting.boolean:
            if raw.strip().lower() not in BOOLEANS:
                problems.append(f"{name} must be true or false, not {raw!r}")
            else:
                values[name] = BOOLEANS[raw.strip().lower()]
        else:
            values[name] = raw
    if problems:
        raise ConfigTemplateError("; ".join(problems))
    return values


def _fill(node: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(item, values) for item in node]
    if isinstance(node, str) and PLACEHOLDER.search(node):
        whole = PLACEHOLDER.fullmatch(node)
        if whole is None:
            raise ConfigTemplateError(f"a placeholder must be a whole value: {node!r}")
        if whole[1] not in values:
            raise ConfigTemplateError(f"unknown placeholder {node}")
        return values[whole[1]]
    return node


class _BlockStyleDumper(yaml.SafeDumper):
    """Multi-line strings (the email templates) stay readable `|` blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockStyleDumper.add_representer(str, _represent_str)


def render(template: str, environ: Mapping[str, str]) -> str:
    """The configuration text for `environ`."""
    filled = _fill(yaml.safe_load(template), settings_from(environ))
    header = "# Rendered from operation/alertmanager/alertmanager.yml; edit that, not this.\n"
    return header + yaml.dump(filled, Dumper=_BlockStyleDumper, sort_keys=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--out", type=Path, required=True, help="file Alertmanager reads")
    args = parser.parse_args(argv)
    try:
        text = render(args.template.read_text(encoding="utf-8"), os.environ)
    except ConfigTemplateError as error:
        print(f"render_config: {error}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
