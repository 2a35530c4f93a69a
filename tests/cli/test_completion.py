"""``pagewire completion``: the bash script, run in a real bash, completes from the parser."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

Run = Callable[..., subprocess.CompletedProcess[str]]


def complete(script: str, *words: str) -> list[str]:
    line = " ".join(f"'{w}'" for w in words)
    probe = f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _pagewire\n"
    probe += 'printf "%s\\n" "${COMPREPLY[@]}"\n'
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and not done.stderr, done.stderr
    return done.stdout.split()


def test_bash_completes_commands_subcommands_and_options(pagewire: Run) -> None:
    script = pagewire("completion", "bash").stdout

    assert {"endpoints", "trigger", "messages", "listen", "keys"} <= set(
        complete(script, "pagewire", "")
    )
    assert complete(script, "pagewire", "endpoints", "rec") == ["recover"]
    assert complete(script, "pagewire", "--api-key", "k", "endpoints", "ro") == ["rotate-secret"]
    assert complete(script, "pagewire", "jobs", "result", "--fo") == ["--format"]
    assert complete(script, "pagewire", "submit", "") == []  # a file name: the shell's own


def test_zsh_and_fish_scripts_name_every_command(pagewire: Run) -> None:
    for shell in ("zsh", "fish"):
        done = pagewire("completion", shell)
        assert done.returncode == 0
        assert "pagewire endpoints rotate-secret" in done.stdout
        assert "print-secret" in done.stdout  # listen's option
    assert pagewire("completion", "tcsh").returncode == 2
