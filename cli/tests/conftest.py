"""Fixtures shared by the CLI tests."""

from collections.abc import Callable

import pytest


def _listed_commands(help_text: str) -> list[str]:
    """The names in the Commands panel of Rich's help, in the order shown (a wrapped
    description goes on in an indented line)."""
    lines = help_text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("╭─ Commands "))
    names = []
    for line in lines[start + 1 :]:
        if line.startswith("╰"):
            break
        cell = line.strip("│").removeprefix(" ")
        if cell.strip() and not cell.startswith(" "):
            names.append(cell.split()[0])
    return names


@pytest.fixture
def listed_commands() -> Callable[[str], list[str]]:
    return _listed_commands
