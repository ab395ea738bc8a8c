"""The one base of the project's errors: every error a person may see derives from ``SgsError``.

Each step raises its own error (``ConfigError``, ``StoreError``, ``PeriodError`` …) with a Chinese message that
names the file, row, URL or key and the fix; the command line (``sgs.cli``) maps them in one place to that
message on stderr and the error's ``exit_code``. The two codes are the CLI's contract with cron and scripts:
1 = the run failed (a locked database, an unscored period, a source that could not be fetched),
2 = the input was wrong (a city file, a period, an option, a file to check or import).
"""
from __future__ import annotations


class SgsError(Exception):
    """An error explained for the person running sgs (the message is Chinese): the run failed, exit 1."""

    exit_code: int = 1


class InputError(SgsError):
    """The input was wrong (a file, an option, a configuration): nothing ran, exit 2."""

    exit_code = 2
