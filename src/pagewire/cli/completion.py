"""``pagewire completion bash|zsh|fish``: shell completion, generated from the parser itself.

The commands, subcommands and options come from walking the argparse tree, so a
new command completes without touching this file. (``shtab`` does the same as a
dependency; the three small scripts here need none.) After a command that takes
a file or an id, a word that is not an option falls back to file names.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterator
from typing import Any

# "pagewire jobs get" -> (subcommands, options); the root is "pagewire" (bash refuses "" as a key)
Tree = dict[str, tuple[list[str], list[str]]]


def _walk(parser: argparse.ArgumentParser, path: str = "pagewire") -> Iterator[tuple[str, Any]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _walk(child, f"{path} {name}")


def command_tree(parser: argparse.ArgumentParser) -> Tree:
    tree: Tree = {}
    for path, node in _walk(parser):
        subcommands: list[str] = []
        options: list[str] = []
        for action in node._actions:
            if isinstance(action, argparse._SubParsersAction):
                subcommands.extend(action.choices)
            options.extend(s for s in action.option_strings if s.startswith("--"))
        tree[path] = (subcommands, options)
    return tree


def bash(tree: Tree) -> str:
    words = "\n".join(
        f"    [{shlex.quote(path)}]={shlex.quote(' '.join(subs + opts))}"
        for path, (subs, opts) in tree.items()
    )
    leaves = " ".join(shlex.quote(path) for path, (subs, _) in tree.items() if not subs)
    return f"""# pagewire completion for bash: eval "$(pagewire completion bash)"
declare -gA _pagewire_words=(
{words}
)
_pagewire_leaves=({leaves})
_pagewire() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" cmdpath=pagewire word candidate leaf i
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${{COMP_WORDS[i]}}"
        [[ "$word" == -* ]] && continue
        candidate="$cmdpath $word"
        [[ -n "${{_pagewire_words[$candidate]+x}}" ]] && cmdpath="$candidate"
    done
    if [[ "$cur" != -* ]]; then
        for leaf in "${{_pagewire_leaves[@]}}"; do
            [[ "$leaf" == "$cmdpath" ]] && {{ COMPREPLY=(); return; }}  # files (-o default)
        done
    fi
    COMPREPLY=($(compgen -W "${{_pagewire_words[$cmdpath]}}" -- "$cur"))
}}
complete -o default -F _pagewire pagewire
"""


def zsh(tree: Tree) -> str:
    words = "\n".join(
        f"    {shlex.quote(path)} {shlex.quote(' '.join(subs + opts))}"
        for path, (subs, opts) in tree.items()
    )
    leaves = "\n".join(f"    {shlex.quote(path)} 1" for path, (subs, _) in tree.items() if not subs)
    return f"""#compdef pagewire
# pagewire completion for zsh: eval "$(pagewire completion zsh)" (after compinit)
typeset -gA _pagewire_words=(
{words}
)
typeset -gA _pagewire_leaves=(
{leaves}
)
_pagewire() {{
    local cmdpath=pagewire word candidate i
    for ((i = 2; i < CURRENT; i++)); do
        word="${{words[i]}}"
        [[ "$word" == -* ]] && continue
        candidate="$cmdpath $word"
        (( ${{+_pagewire_words[$candidate]}} )) && cmdpath="$candidate"
    done
    if [[ "${{words[CURRENT]}}" != -* ]] && (( ${{+_pagewire_leaves[$cmdpath]}} )); then
        _files
        return
    fi
    compadd -- ${{=_pagewire_words[$cmdpath]}}
}}
compdef _pagewire pagewire
"""


def fish(tree: Tree) -> str:
    lines = [
        "# pagewire completion for fish: pagewire completion fish | source",
        "function __pagewire_at",
        "    set -l cmdpath pagewire",
        "    for word in (commandline -opc)[2..-1]",
        "        string match -q -- '-*' $word; and continue",
        '        set -l candidate (string trim -- "$cmdpath $word")',
        "        contains -- $candidate $__pagewire_paths; and set cmdpath $candidate",
        "    end",
        '    test "$cmdpath" = "$argv[1]"',
        "end",
        "set -g __pagewire_paths " + " ".join(shlex.quote(p) for p in tree),
        "complete -c pagewire -f",
    ]
    for path, (subs, opts) in tree.items():
        at = f"-n \"__pagewire_at '{path}'\""  # command names hold no quotes
        if subs:
            lines.append(f"complete -c pagewire {at} -a {shlex.quote(' '.join(subs))}")
        else:
            lines.append(f"complete -c pagewire {at} -F")
        lines.extend(f"complete -c pagewire {at} -l {opt[2:]}" for opt in opts)
    return "\n".join(lines) + "\n"


SHELLS = {"bash": bash, "zsh": zsh, "fish": fish}


def register(sub: Any, root: argparse.ArgumentParser) -> None:
    completion = sub.add_parser(
        "completion",
        help="print a shell completion script",
        description='e.g. eval "$(pagewire completion bash)" in ~/.bashrc',
    )
    completion.add_argument("shell", choices=sorted(SHELLS))

    def run(args: argparse.Namespace) -> int:
        print(SHELLS[args.shell](command_tree(root)), end="")
        return 0

    completion.set_defaults(func=run)
