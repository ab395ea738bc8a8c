"""Records published as files: ``.xlsx``, ``.xls``, ``.csv`` and ``.docx`` tables → rows of cell text.

Many departments post a monthly spreadsheet or document instead of one page per record
(real-world-sites.md). The file is archived like any response; here it becomes plain tables (lists of
rows of strings), which ``crawlers.extract.table_records`` reads through the same header mapping as a
list page. Cells are read as text the way the file shows them: a spreadsheet date becomes ``YYYY-MM-DD``,
a whole number loses its ``.0``; everything else is normalised later like any page value.

Two spreadsheet readers, on purpose: calamine for ``.xlsx`` and xlrd for ``.xls``. calamine reads ``.xls`` too,
but not within ``core.bounded``'s limits: it builds the sheet's dense rectangle before anything can check its
area (a 5.6 KB ``.xls`` with one cell at IV65536 took 1 GB), and it copies a shared string into every cell
that uses it (a 3.3 MB ``.xls`` with one 30 000-character string in 200 000 cells aborted it at a 3 GB
limit — an abort, not an exception). An ``.xls`` has no zip members to scan first, so its area is known only
to a reader: xlrd with ``ragged_rows`` gives rows × columns with nothing padded and every use of a shared
string the same Python object, so ``bounded.check_xls_sheet`` refuses the sheet before a cell is converted.
(xlwt stays too, only to write the ``.xls`` files of the demo city and the tests: nothing else writes ``.xls``.)
"""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from core import bounded
from core.decode import decode

FORMATS = ("xlsx", "xls", "csv", "docx")
_CONTENT_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.ms-excel": "xls",
    "text/csv": "csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}

Table = list[list[str]]


def file_format(url: str, content_type: str | None) -> str | None:
    """The attachment format of a response, by its content type, else by the URL's extension (or None)."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in _CONTENT_TYPES:
        return _CONTENT_TYPES[ctype]
    ext = urlsplit(url).path.rsplit(".", 1)[-1].lower()
    return ext if ext in FORMATS else None


def tables(body: bytes, fmt: str, content_type: str | None = None) -> list[Table]:
    """Every table of the file (sheets of a workbook, tables of a document); ``ValueError`` if unreadable."""
    return [table for _, table in named_tables(body, fmt, content_type)]


def named_tables(body: bytes, fmt: str, content_type: str | None = None) -> list[tuple[str | None, Table]]:
    """Every table with its name (a workbook's sheet names; None for a CSV's or a document's tables), so a
    problem can name the sheet it is on; ``ValueError`` if unreadable or over a limit (core.bounded).

    A workbook or document is read in a forked worker with memory and time limits (``bounded.isolated``):
    its parsers are native code, and a file that kills one costs that file, not the caller. A CSV is read
    here: Python's csv module is bounded by the file's size and the field limit."""
    bounded.check_size(body)
    if fmt == "csv":
        return _parse(body, fmt, content_type)
    if fmt in ("xlsx", "xls"):  # loaded once here, so each worker inherits the library instead of loading it
        import python_calamine  # noqa: F401
        import xlrd  # noqa: F401
    return bounded.isolated(_parse, body, fmt, content_type)


def _parse(body: bytes, fmt: str, content_type: str | None) -> list[tuple[str | None, Table]]:
    try:
        return _READERS[fmt](body, content_type)
    except bounded.FileRefused:
        raise
    except Exception as exc:  # each library has its own errors for a damaged file (ValueError too)
        raise bounded.FileRefused(f"无法读取 {fmt} 附件，文件已损坏：{type(exc).__name__} {exc}") from exc


LOCAL_ENCODINGS = ("utf-8-sig", "gb18030")  # a local CSV: UTF-8 (with or without BOM) or GB18030/GBK


def read_file(path: Path) -> Table:
    """The first table of a local file (a ledger) as text cells; see ``read_sheets``."""
    found = read_sheets(path)
    return found[0][1] if found else []


def read_sheets(path: Path) -> list[tuple[str | None, Table]]:
    """Every table of a local file — a ledger, a department's file before publication — with its sheet name
    (None for a CSV), as text cells.

    The one reader of tabular files: crawled attachments, ``sgs ledger import`` and ``sgs validate`` all read
    through ``named_tables``. Unlike a crawled page, a local CSV is decoded strictly (a wrong guess would corrupt
    names silently) and its delimiter sniffed (exports use commas, tabs or semicolons). ``ValueError`` with the
    reason, in Chinese, when the file cannot be read.
    """
    if not path.exists():
        raise bounded.FileRefused(f"文件 {path} 不存在。")
    fmt = {"xlsm": "xlsx"}.get(path.suffix.lower().lstrip("."), path.suffix.lower().lstrip("."))
    if fmt not in FORMATS or fmt == "docx":
        raise bounded.FileRefused(f"文件 {path} 不是 CSV 或 XLSX/XLS 文件（扩展名 {path.suffix or '无'}）。")
    try:
        bounded.check_size(path.stat().st_size)
    except ValueError as exc:
        raise bounded.FileRefused(f"文件 {path} 过大：{exc}，请拆分后再导入。") from None
    body = path.read_bytes()
    if fmt == "csv":
        return [(None, _local_csv(body, path))]
    try:
        return named_tables(body, fmt)
    except ValueError as exc:
        raise bounded.FileRefused(f"文件 {path} 不是有效的 {fmt.upper()} 文件：{exc}") from None


def _local_csv(body: bytes, path: Path) -> Table:
    for encoding in LOCAL_ENCODINGS:
        try:
            text = body.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise bounded.FileRefused(f"文件 {path} 的编码无法识别：请另存为 UTF-8 或 GB18030（GBK）编码的 CSV。")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    try:
        return _csv_rows(text, dialect)
    except ValueError as exc:
        raise bounded.FileRefused(f"文件 {path} {exc}") from None


def _csv_rows(text: str, dialect: type[csv.Dialect] | csv.Dialect = csv.excel) -> Table:
    """A CSV's rows; a field longer than the csv module's limit (131 072 characters, four times Excel's own
    cell limit) is refused with its line rather than a traceback: it is almost always a quote left open
    that swallowed the rest of the file."""
    reader = csv.reader(io.StringIO(text), dialect)
    rows: Table = []
    start = 1  # the line the row being read starts on: where an open quote is
    try:
        for row in reader:
            rows.append(row)
            start = reader.line_num + 1
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise bounded.FileRefused(f"第 {start} 行有一个单元格超过 {csv.field_size_limit():,} 个字符"
                             "（常见原因：引号未闭合，其后内容都被读进了同一个单元格），请检查该行的引号") from None
        raise bounded.FileRefused(f"第 {start} 行不是有效的 CSV：{exc}") from None
    return rows


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx(body: bytes, _ctype: str | None) -> list[tuple[str | None, Table]]:
    """Every sheet's cells (formulas as their saved values), through calamine (Rust): openpyxl took ~9 ms
    for a small monthly workbook, loading styles and themes the crawler never looks at; calamine ~0.1 ms."""
    from python_calamine import CalamineWorkbook

    with zipfile.ZipFile(io.BytesIO(body)) as z:
        bounded.check_xlsx(z)  # before calamine allocates a sheet's rectangle
    book = CalamineWorkbook.from_filelike(io.BytesIO(body))
    try:
        return [(name, [[_cell(v) for v in row]
                        for row in book.get_sheet_by_index(i).to_python(skip_empty_area=False)])
                for i, name in enumerate(book.sheet_names)]
    finally:
        book.close()


def _xls(body: bytes, _ctype: str | None) -> list[tuple[str | None, Table]]:
    """Every sheet, loaded one at a time with ragged rows (xlrd pads nothing), its area checked before
    a cell is read."""
    import xlrd

    book = xlrd.open_workbook(file_contents=body, on_demand=True, ragged_rows=True)
    out: list[tuple[str | None, Table]] = []
    for i, name in enumerate(book.sheet_names()):
        sheet = book.sheet_by_index(i)
        bounded.check_xls_sheet(name, sheet.nrows, sheet.ncols)
        rows = []
        for r in range(sheet.nrows):
            cells = []
            for c in range(sheet.row_len(r)):
                cell = sheet.cell(r, c)
                value = (xlrd.xldate_as_datetime(float(cell.value), book.datemode) if cell.ctype == xlrd.XL_CELL_DATE
                         else cell.value)
                cells.append(_cell(value))
            rows.append(cells + [""] * (sheet.ncols - len(cells)))
        out.append((name, rows))
        book.unload_sheet(i)
    return out


def _csv(body: bytes, ctype: str | None) -> list[tuple[str | None, Table]]:
    return [(None, _csv_rows(decode(body, ctype)))]


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _docx(body: bytes, _ctype: str | None) -> list[tuple[str | None, Table]]:
    """Tables of ``word/document.xml`` read directly (python-docx spends ~40 ms a file loading styles
    the crawler never looks at); a cell's paragraphs are joined by newlines, as Word shows them."""
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        bounded.open_zip(z)
        root = etree.fromstring(bounded.read_member(z, "word/document.xml"), _SAFE_XML)
    return [(None, [["\n".join("".join(t.text or "" for t in p.iter(f"{_W}t")) for p in tc.iter(f"{_W}p"))
                     for tc in tr.iterchildren(f"{_W}tc")]
                    for tr in tbl.iterchildren(f"{_W}tr")])
            for tbl in root.iter(f"{_W}tbl")]


_READERS = {"xlsx": _xlsx, "xls": _xls, "csv": _csv, "docx": _docx}
