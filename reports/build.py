"""Write all documents of a period into a folder, all or nothing; or build one document as bytes (dashboard).

Each file is written under a hidden temporary name in the output folder and renamed (``os.replace``) to its
final name only after every document was built, so a failure leaves no new or half-written file under a
final name (and an earlier run's files untouched). Settings (the issuing office, the remediation deadline in
working days) come from the ``[report]`` table of the period's scheme file (``data/schemes/<year>.toml``).

Built from an issued version's file (``metrics.versions.open_version``), the documents are that version's:
its own date and deadline (the report date asked for is not used), its number in the file names, the same
text whenever they are built. Built from live results of a period issued before, the deadline is the
issued one (整改期限 runs from the first issue).
"""
from __future__ import annotations

import io
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from core.settings import Paths
from metrics.scheme import Scheme, SchemeError, load_scheme, scheme_path
from core.workdays import CalendarError
from metrics import readings, results
from reports import assessment, brief, notice, workbook
from reports.data import PeriodData, ReportError, check_period, deadline, load

_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


@dataclass(frozen=True)
class Written:
    report: Path
    workbook: Path
    notices: dict[str, Path]  # dept_id → its notice
    brief: Path  # the one-page 简报 (.docx)
    brief_pdf: Path | None = None  # the same as PDF (``pdf=True``)


def _label(data: PeriodData) -> str:
    label = data.period.label
    return f"{label}-版本{data.version['version']}" if data.frozen and data.version is not None else label


def file_names(data: PeriodData) -> tuple[str, str, dict[str, str]]:
    """The documents' file names: the period first so a folder of several quarters sorts by period."""
    label = _label(data)
    notices = {d: f"{label}-整改通知书-{d}-{_UNSAFE.sub('_', e['name'])}.docx" for d, e in data.explained.items()}
    return f"{label}-双公示评估报告.docx", f"{label}-双公示评估工作簿.xlsx", notices


def _brief(con: duckdb.DuckDBPyConnection, data: PeriodData, scheme: Scheme, day: date, due: date) -> bytes:
    """The 简报, with the monthly trend's reading when the database holds monthly scores."""
    return brief.build(data, scheme, day, due, readings.trend_reading(results.monthly_trend(con, data.scope)))


def settings(period_label: str, scheme_file: Path | None = None, report_date: date | None = None
             ) -> tuple[Scheme, date, date]:
    """The scheme holding the report settings, the report date (default today) and the deadline."""
    from core.periods import parse_period

    try:
        scheme = load_scheme(scheme_file or scheme_path(parse_period(period_label)))
        day = report_date or date.today()
        return scheme, day, deadline(day, scheme.remediation_workdays)
    except (SchemeError, CalendarError) as exc:
        raise ReportError(str(exc)) from None


def dated(data: PeriodData, scheme: Scheme, day: date, due: date) -> tuple[Scheme, date, date]:
    """The settings with an issued version's own date and deadline, or an issued period's deadline."""
    if data.version is None:
        return scheme, day, due
    if data.frozen:
        return scheme, data.version["issued_on"], data.version["deadline"]
    return scheme, day, data.version["deadline"]


def _load(con: duckdb.DuckDBPyConnection, period: str, scope: str | None, paths: Paths | None,
          report_date: date | None, scheme_file: Path | None = None) -> tuple[PeriodData, Scheme, date, date]:
    data = load(con, period, scope, paths=paths, today=report_date)
    return data, *dated(data, *settings(data.period.label, scheme_file, report_date))


def write_all(con: duckdb.DuckDBPyConnection, period: str, out: Path, *, report_date: date | None = None,
              scheme_file: Path | None = None, paths: Paths | None = None, pdf: bool = False) -> Written:
    """The report, the workbook, every department's notice and the 简报 (also as PDF with ``pdf``) for
    ``period`` in ``out`` (``paths``: where the correction store is, by default beside ``con``'s file)."""
    check_period(con, period)  # a bad period is reported before anything touches the folder
    out = _writable(out)
    data, scheme, day, due = _load(con, period, None, paths, report_date, scheme_file)
    report_name, book_name, notice_names = file_names(data)
    staged: list[tuple[Path, Path]] = []
    try:
        tmp = _temp(out, report_name)
        staged.append((tmp, out / report_name))
        tmp.write_bytes(assessment.build(data, scheme, day, due))
        tmp = _temp(out, book_name)
        staged.append((tmp, out / book_name))
        workbook.write(data, scheme, day, due, tmp)
        for dept, name in notice_names.items():
            tmp = _temp(out, name)
            staged.append((tmp, out / name))
            tmp.write_bytes(notice.build(data, dept, scheme, day, due))
        brief_name = f"{_label(data)}-双公示工作简报.docx"
        tmp = _temp(out, brief_name)
        staged.append((tmp, out / brief_name))
        tmp.write_bytes(_brief(con, data, scheme, day, due))
        if pdf:
            tmp = _temp(out, brief_name.replace(".docx", ".pdf"))
            staged.append((tmp, out / brief_name.replace(".docx", ".pdf")))
            tmp.write_bytes(brief.to_pdf(staged[-2][0].read_bytes()))
        for tmp, final in staged:
            os.replace(tmp, final)
    except OSError as exc:
        raise ReportError(f"无法写入输出文件夹 {out}：{exc.strerror or exc}") from None
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    return Written(out / report_name, out / book_name, {d: out / n for d, n in notice_names.items()},
                   out / brief_name, out / brief_name.replace(".docx", ".pdf") if pdf else None)


def _writable(out: Path) -> Path:
    """The output folder, created if needed; a ReportError when it cannot be written."""
    out = Path(out).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".sgs-probe-"):
            pass
    except OSError as exc:
        raise ReportError(f"输出文件夹 {out} 无法写入：{exc.strerror or exc}。请换一个文件夹（--out）或检查权限。") from None
    return out.resolve()


def _temp(out: Path, name: str) -> Path:
    """A new hidden file beside the final name (created like any file, so it gets the usual permissions)."""
    path = out / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    path.touch(exist_ok=False)
    return path


# --- bytes for the dashboard's downloads -----------------------------------------------------------

def report_bytes(con: duckdb.DuckDBPyConnection, period: str, report_date: date | None = None,
                 paths: Paths | None = None) -> bytes:
    return assessment.build(*_load(con, period, None, paths, report_date))


def brief_bytes(con: duckdb.DuckDBPyConnection, period: str, report_date: date | None = None,
                paths: Paths | None = None, pdf: bool = False) -> bytes:
    data, scheme, day, due = _load(con, period, None, paths, report_date)
    docx = _brief(con, data, scheme, day, due)
    return brief.to_pdf(docx) if pdf else docx


def brief_pdf_bytes(con: duckdb.DuckDBPyConnection, period: str, report_date: date | None = None,
                    paths: Paths | None = None) -> bytes:
    return brief_bytes(con, period, report_date, paths, pdf=True)


def workbook_bytes(con: duckdb.DuckDBPyConnection, period: str, report_date: date | None = None,
                   paths: Paths | None = None) -> bytes:
    buf = io.BytesIO()
    workbook.write(*_load(con, period, None, paths, report_date), buf)
    return buf.getvalue()


def notice_bytes(con: duckdb.DuckDBPyConnection, period: str, dept_id: str, scope: str | None,
                 report_date: date | None = None, paths: Paths | None = None) -> bytes | None:
    """A department's notice, read within ``scope`` (a department user's own id): another department's
    notice is not built at all because its rows are never read (None)."""
    data, scheme, day, due = _load(con, period, scope if scope is not None else dept_id, paths, report_date)
    if dept_id not in data.explained:
        return None
    return notice.build(data, dept_id, scheme, day, due)
