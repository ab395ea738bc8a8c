"""Limits a file must keep before a native parser reads it, checked while reading, and the worker a parser runs in.

Why: the spreadsheet readers are native code that trusts the file. calamine builds a sheet as a dense
rectangle from its top-left to its bottom-right cell, so a 5.5 KB ``.xlsx`` whose one cell sits at
XFD1048576 asks for hundreds of GiB and aborts the process (no exception to catch); a zip member that
expands to gigabytes (a shared-strings or rows bomb) takes minutes and gigabytes. So before calamine,
xlrd or lxml sees a file, ``check`` reads it here with limits that hold by construction:

* the zip members' declared sizes and compression ratio, then every member decompressed in bounded reads
  with the actual bytes counted (a header may lie), stopping at the limit;
* each sheet's XML streamed (lxml ``iterparse``, rows cleared as read) to find the used area from the
  cells actually present (not the declared ``<dimension>``, which calamine ignores too), the number of
  cells and the longest cell or shared string;
* an ``.xls`` by its file size, then by each sheet's rows × columns before a cell is read (``check_xls_sheet``).

A file over a limit is refused with a ``ValueError`` in Chinese naming the sheet (or member) and the limit.
Defence in depth: ``isolated`` runs the parser itself in a forked child with an address-space and CPU limit,
so a failure the scan did not foresee kills the child, not the crawl. The limits are far above what a
department publishes (a busy bureau's monthly file: a few thousand rows × 20–40 columns) and below what
hurts the monitor.
"""
from __future__ import annotations

import faulthandler
import functools
import os
import pickle
import re
import resource
import select
import signal
import time
import zipfile
from collections.abc import Callable
from typing import Any, IO, TypeVar

from lxml import etree

MAX_FILE_BYTES = 64 << 20  # a file as published (compressed .xlsx/.docx, an .xls, a CSV)
MAX_UNCOMPRESSED = 200 << 20  # all members of a zip together, actual bytes decompressed
MAX_RATIO = 100  # uncompressed ÷ compressed, for members over RATIO_FROM bytes (real sheets: 5–20)
RATIO_FROM = 1 << 20
MAX_CELLS = 1_000_000  # cells holding something, per workbook
MAX_AREA = 2_000_000  # rows × columns of a sheet from A1 to its last cell holding something
MAX_CELL_CHARS = 32_767  # one cell or shared string (Excel's own limit per cell)
MAX_SHARED_STRINGS = 1_000_000
WORKER_MEMORY = 2 << 30  # address space the parsing worker may add to what it inherits
WORKER_SECONDS = 60  # the parsing worker's CPU and wall time

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_READ = 1 << 16
_TEXT_LENGTH = etree.XPath("string-length(string(.))")  # a row's text, all cells together
_VALUED = etree.XPath("m:c[*]", namespaces={"m": _MAIN[1:-1]})  # a value, formula or inline string
_REF = re.compile(r"(?<!\S)([A-Za-z]{1,3})0*(\d{1,7})(?!\S)")  # a whole reference, B12
_BOOK_PART = 16 << 20  # the workbook's list of sheets and its relationships: a few KB in real files
_SAFE: dict[str, Any] = {"resolve_entities": False, "no_network": True, "huge_tree": False}
T = TypeVar("T")


class FileRefused(ValueError):
    """A file refused or found damaged, with the reason in Chinese: the one error a file reader declares.
    Other libraries' ``ValueError``s (a damaged zip's "negative seek value") are not ours and get wrapped."""


class _Counted:
    """A zip member read in bounded steps, the decompressed bytes counted against what is left of the limit."""

    def __init__(self, raw: IO[bytes], name: str, budget: list[int], limit: int = MAX_UNCOMPRESSED) -> None:
        self.raw, self.name, self.budget, self.limit = raw, name, budget, limit

    def read(self, n: int = _READ) -> bytes:
        data = self.raw.read(min(n if n and n > 0 else _READ, _READ))
        self.budget[0] -= len(data)
        if self.budget[0] < 0:
            raise FileRefused(f"压缩包成员 {self.name} 解压后超出上限 {self.limit >> 20} MB，疑似压缩炸弹")
        return data


def check_size(body: bytes | int) -> None:
    """A file larger than ``MAX_FILE_BYTES`` is refused before anything parses it."""
    size = body if isinstance(body, int) else len(body)
    if size > MAX_FILE_BYTES:
        raise FileRefused(f"文件大小 {size >> 20} MB 超过上限 {MAX_FILE_BYTES >> 20} MB")


def open_zip(z: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The members of a zip whose declared sizes keep the limits (total uncompressed size, ratio)."""
    members = z.infolist()
    total = sum(m.file_size for m in members)
    if total > MAX_UNCOMPRESSED:
        raise FileRefused(f"压缩包解压后共 {total >> 20} MB，超过上限 {MAX_UNCOMPRESSED >> 20} MB，疑似压缩炸弹")
    for m in members:
        if m.file_size > RATIO_FROM and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise FileRefused(f"压缩包成员 {m.filename} 的压缩比 {m.file_size // max(m.compress_size, 1)}:1 "
                             f"超过上限 {MAX_RATIO}:1，疑似压缩炸弹")
    return members


def read_member(z: zipfile.ZipFile, name: str, limit: int = MAX_UNCOMPRESSED) -> bytes:
    """One member's bytes, decompressed in bounded steps and refused past ``limit``."""
    with z.open(name) as raw:
        reader, parts = _Counted(raw, name, [limit], limit), []
        while data := reader.read():
            parts.append(data)
    return b"".join(parts)


def check_xlsx(z: zipfile.ZipFile) -> None:
    """Every member of a workbook within the limits, every sheet's used area, cells and cell length too."""
    members = open_zip(z)
    names = _sheet_names(z)
    budget, cells = [MAX_UNCOMPRESSED], [0]
    for m in members:
        if m.filename.startswith("xl/worksheets/") and m.filename.endswith(".xml"):
            _scan_sheet(z, m.filename, names.get(m.filename, m.filename), budget, cells)
        elif m.filename.lower() == "xl/sharedstrings.xml":
            _scan_strings(z, m.filename, budget)
        else:
            with z.open(m) as raw:  # styles, drawings…: only counted, a lying header cannot hide a bomb
                reader = _Counted(raw, m.filename, budget)
                while reader.read():
                    pass


def _sheet_names(z: zipfile.ZipFile) -> dict[str, str]:
    """Sheet member path → the sheet's name in the workbook, so a refusal names the sheet people see."""
    try:
        book = etree.fromstring(read_member(z, "xl/workbook.xml", _BOOK_PART), etree.XMLParser(**_SAFE))
        rels = etree.fromstring(read_member(z, "xl/_rels/workbook.xml.rels", _BOOK_PART), etree.XMLParser(**_SAFE))
    except (KeyError, etree.XMLSyntaxError):
        return {}  # calamine will say what is wrong
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    out = {}
    for sheet in book.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(_REL), "")
        path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        out[path] = sheet.get("name", path)
    return out


@functools.lru_cache(maxsize=4096)
def _column(ref: str) -> int:
    """``XFD1048576`` → 16384 (1-based column of a cell reference)."""
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + (ord(ch.upper()) - 64)
    return n


def _scan_sheet(z: zipfile.ZipFile, member: str, name: str, budget: list[int], cells: list[int]) -> None:
    """Stream one sheet a row at a time: rows × columns up to its last cell holding something (calamine's
    dense rectangle; every cell's own reference counts, as calamine places cells by it), the workbook's cell
    count and the longest value, refused as soon as a limit is passed. Per row, not per cell, in Python:
    about twice lxml's bare parse of the sheet, a few times calamine's own read (measured on 100 000 cells)."""
    max_row = max_col = row = 0
    with z.open(member) as raw:
        for _, el in etree.iterparse(_Counted(raw, f"{name}（{member}）", budget), events=("end",),
                                     tag=f"{_MAIN}row", **_SAFE):
            row = _number(el.get("r")) or row + 1
            valued = _VALUED(el)
            if valued:
                cells[0] += len(valued)
                last_row, last_col = _extent(el, valued, row)
                max_row, max_col = max(max_row, last_row), max(max_col, last_col)
                if _TEXT_LENGTH(el) > MAX_CELL_CHARS:  # only then cell by cell
                    _check_lengths(valued, name, row)
                if cells[0] > MAX_CELLS:
                    raise FileRefused(f"工作簿的单元格超过上限 {MAX_CELLS:,} 个（读到工作表“{name}”第 {row} 行）")
                if max_row * max_col > MAX_AREA:
                    raise FileRefused(f"工作表“{name}”的数据区域 {max_row:,} 行 × {max_col:,} 列（从 A1 到 "
                                     f"{_letters(max_col)}{max_row}）超过上限 {MAX_AREA:,} 个单元格")
            _drop(el)


def _extent(row_el: etree._Element, valued: list[Any], row: int) -> tuple[int, int]:
    """The furthest row and column among a row's cells holding something, from their references (a cell
    without one follows its left neighbour, so then the whole row is walked)."""
    refs = [c.get("r") for c in valued]
    if None in refs:
        last, col = 0, 0
        for c in row_el.iterchildren(f"{_MAIN}c"):
            ref = c.get("r")
            col = _column(ref) if ref else col + 1
            if len(c):
                last = max(last, col)
        refs = [ref for ref in refs if ref]
    else:
        last = 0
    pairs = _REF.findall(" ".join(refs))
    if len(pairs) != len(refs):
        raise FileRefused(f"第 {row} 行有无效的单元格引用（应如 B12）")
    rows = {digits for _, digits in pairs}
    last_row = max([row, *map(int, rows)])
    last_col = max([last, *map(_column, {letters for letters, _ in pairs})])
    return last_row, last_col


def _letters(col: int) -> str:
    """16384 → ``XFD`` (a column's letters)."""
    out = ""
    while col > 0:
        col, rest = divmod(col - 1, 26)
        out = chr(65 + rest) + out
    return out


def _check_lengths(valued: list[Any], name: str, row: int) -> None:
    """Each cell's text (all runs of a rich-text cell) within ``MAX_CELL_CHARS``."""
    for c in valued:
        size = sum(len(t.text or "") for t in c.iter(f"{_MAIN}v", f"{_MAIN}t"))
        if size > MAX_CELL_CHARS:
            raise FileRefused(f"工作表“{name}”的单元格 {c.get('r') or f'第 {row} 行'} 有 {size} 个字符，"
                             f"超过上限 {MAX_CELL_CHARS}")


def _number(text: str | None) -> int:
    """A row number attribute (0 when absent or not a number)."""
    return int(text) if text and text.isdigit() else 0


def _drop(el: etree._Element) -> None:
    """Forget an element read to its end, and its earlier siblings: the scan's memory stays one row."""
    el.clear(keep_tail=False)
    parent = el.getparent()
    while parent is not None and el.getprevious() is not None:
        del parent[0]


def _scan_strings(z: zipfile.ZipFile, member: str, budget: list[int]) -> None:
    """The shared strings: how many, and the longest, streamed."""
    count = 0
    with z.open(member) as raw:
        for _, el in etree.iterparse(_Counted(raw, member, budget), events=("end",), tag=f"{_MAIN}si", **_SAFE):
            count += 1
            size = sum(len(t.text or "") for t in el.iter(f"{_MAIN}t"))
            if size > MAX_CELL_CHARS:
                raise FileRefused(f"共享字符串第 {count} 个有 {size} 个字符，超过单元格上限 {MAX_CELL_CHARS}")
            if count > MAX_SHARED_STRINGS:
                raise FileRefused(f"共享字符串超过上限 {MAX_SHARED_STRINGS:,} 个")
            _drop(el)


def check_xls_sheet(name: str, nrows: int, ncols: int) -> None:
    """An ``.xls`` sheet's rows × columns (xlrd's, read with ragged rows so nothing is padded yet) within
    ``MAX_AREA``, before its cells are turned into a table."""
    if nrows * ncols > MAX_AREA:
        raise FileRefused(f"工作表“{name}”的数据区域 {nrows:,} 行 × {ncols:,} 列超过上限 {MAX_AREA:,} 个单元格")


def isolated(parse: Callable[..., T], *args: object) -> T:
    """``parse(*args)`` in a forked child limited to ``WORKER_MEMORY`` of address space and ``WORKER_SECONDS``
    of CPU and wall time; its result (or its ``ValueError``) comes back pickled through a pipe.

    Why: the scan bounds what it knows to bound; a native parser can still abort on what nobody foresaw,
    and an abort cannot be caught. In a child it costs that file only (a fork is a few milliseconds; the
    crawl reads a few attachments per source). A child that dies — killed by its limits, or aborted —
    becomes ``ValueError("附件过大或损坏…")``.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read_fd)
            limit = _address_space() + WORKER_MEMORY  # on top of what the fork inherits (DuckDB reserves much)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            resource.setrlimit(resource.RLIMIT_CPU, (WORKER_SECONDS, WORKER_SECONDS + 1))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            devnull = os.open(os.devnull, os.O_WRONLY)  # a native abort's own report is no user's message:
            os.dup2(devnull, 2)  # the parent says what happened, in Chinese
            faulthandler.disable()  # (it writes to a descriptor of its own)
            try:
                out: tuple[str, object] = ("ok", parse(*args))
            except ValueError as exc:
                out = ("error", str(exc))
            except MemoryError:
                out = ("error", f"读取时所需内存超过上限 {WORKER_MEMORY >> 30} GB")
            except Exception as exc:  # each library has its own errors for a damaged file
                out = ("error", f"{type(exc).__name__} {exc}")
            data = pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(data)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    return _collect(pid, read_fd)  # type: ignore[return-value]  # what ``parse`` returned, unpickled


def _address_space() -> int:
    """This process's virtual size in bytes (Linux ``/proc``; 0 elsewhere, where the limit is then absolute)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _collect(pid: int, read_fd: int) -> object:
    """The child's answer, read until it closes the pipe or its wall time is up (then it is killed)."""
    deadline, parts = time.monotonic() + WORKER_SECONDS, []
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                break
            data = os.read(read_fd, 1 << 20)
            if not data:
                break
            parts.append(data)
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0 or not parts:
        why = (f"信号 {signal.Signals(os.WTERMSIG(status)).name}" if os.WIFSIGNALED(status)
               else f"退出码 {os.WEXITSTATUS(status)}")
        raise FileRefused(f"读取进程异常终止，文件过大或已损坏（{why}；内存上限 {WORKER_MEMORY >> 30} GB，"
                         f"时间上限 {WORKER_SECONDS} 秒）")
    verdict, value = pickle.loads(b"".join(parts))
    if verdict == "error":
        raise FileRefused(value)
    return value
