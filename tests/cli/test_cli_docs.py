"""docs/cli.md shows every command of ``pagewire --help``'s tree with an example.

The commands come from walking the real parser (the tree ``pagewire completion``
is built from), so a new command without a documented example fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

from pagewire.cli.completion import command_tree
from pagewire.cli.main import build_parser

CLI_DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def commands() -> list[str]:
    """Every runnable command path: ``pagewire jobs get``, ``pagewire listen`` ..."""
    tree = command_tree(build_parser())
    return sorted(path for path, (subcommands, _) in tree.items() if not subcommands)


def test_the_walk_finds_nested_commands() -> None:
    found = commands()

    assert {"pagewire serve", "pagewire jobs get", "pagewire encryption new-key"} <= set(found)
    assert "pagewire jobs" not in found and "pagewire" not in found  # groups are not commands


def test_every_command_has_an_example_in_the_cli_doc() -> None:
    text = CLI_DOC.read_text()
    # An example is the command as typed: "pagewire jobs get" not followed by more of a word.
    missing = [path for path in commands() if not re.search(re.escape(path) + r"(?![\w-])", text)]

    assert missing == [], f"docs/cli.md has no example of: {', '.join(missing)}"
