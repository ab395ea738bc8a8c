"""``sgs validate``'s work and output, and its command line read without typer when it is plain.

Why: a clerk's check of a file is one short command, and typer's parsing (a pydantic TypeAdapter per
parameter, pydantic imported for it) cost ≈ 0.2 s of CPU — a seventh of the whole check of a 100,000-row
file (docs/scoring.md, "Speed"). ``sgs.cli``'s app reads ``validate FILE --kind K [--format F]`` here first
(``plain_args``) and hands anything else — ``--help``, a missing or repeated option, an unknown one — to
typer, which then answers exactly as before. Both routes run ``run``, so the output, the exit codes and the
messages are one code: stdout the report, stderr the count, 1 with problems, an ``SgsError``'s code with
``错误：…`` (masked) otherwise, said by ``sgs.common`` for both.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

_OPTIONS = {"--kind": "kind", "-k": "kind", "--format": "output", "-f": "output"}


def plain_args(argv: list[str]) -> tuple[Path, str, str] | None:
    """(file, kind, format) of ``validate FILE --kind K [--format F]`` (options as ``--kind K``, ``-k K``,
    ``--kind=K``, in any order); None for any other command line, which typer then reads."""
    if argv[:1] != ["validate"]:
        return None
    rest, values, files = argv[1:], {}, []
    while rest:
        token = rest.pop(0)
        name, eq, value = token.partition("=")
        if name in _OPTIONS and name.startswith("--") and eq:
            pass
        elif token in _OPTIONS and rest and not rest[0].startswith("-"):
            name, value = token, rest.pop(0)
        elif not token.startswith("-") and token:
            files.append(token)
            continue
        else:
            return None
        if _OPTIONS[name] in values:
            return None
        values[_OPTIONS[name]] = value
    if len(files) != 1 or "kind" not in values:
        return None
    return Path(files[0]), values["kind"], values.get("output", "text")


def run(file: Path, kind: str, output: str) -> int:
    """Check ``file`` and print its report: the exit code (0: no problem, 1: problems); ``SgsError`` when the
    input is wrong (the caller says it)."""
    from core.errors import InputError
    from metrics.validate import check_file, text_lines

    if output not in ("text", "json"):
        raise InputError(f"未知的输出格式 {output!r}：应为 text 或 json。")
    report = check_file(file, kind)
    problems = report.problems
    if output == "json":
        _echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        if lines := text_lines(report):  # one write: an echo per line cost 25 ms for 8,000 problems
            _echo("\n".join(lines))
        rows = len({(p.sheet, p.row) for p in problems})
        _echo(f"{file}：发现 {len(problems)} 个问题（涉及 {rows} 行）。" if problems else f"{file}：未发现问题。",
              err=True)
    return 1 if problems else 0


def _echo(text: str, err: bool = False) -> None:
    """One line of output, as ``typer.echo`` writes it to a file or pipe (text and a newline, flushed)."""
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def quick(argv: list[str]) -> int | None:
    """Run a plain ``validate`` command line: its exit code (a project error said by ``sgs.common``, as for
    every command); None when typer should read ``argv``."""
    args = plain_args(argv)
    if args is None:
        return None
    from sgs.common import without_typer

    return without_typer(lambda: run(*args))
