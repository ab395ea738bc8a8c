"""The evidence archive: every response the crawl sees, in a gzipped WARC file, indexed by table ``fetches``.

A finding must point at the bytes it was drawn from (real-world-sites.md), so each response is written as a
WARC ``request`` + ``response`` pair and its index row records the file, offset and length of the response
record. warcio's ``capture_http`` cannot see httpx, so records are built by hand. One file per crawl,
``<crawl_id>.warc.gz``; each record is its own gzip member, so a reader seeks to the offset and reads one
record without touching the rest of the file.

An unchanged page (a 304 answer to a conditional request, or a body whose sha256 equals the last one
archived for that URL) is written as a WARC ``revisit`` record pointing at the original response, not as a
second copy; its index row names the original in ``revisit_of``, and records keep pointing at the original
(``evidence_id``), the bytes a reader can open. A resumed crawl writes to a new part
(``<crawl_id>-r1.warc.gz``), so a record half-written when the process was killed is never appended to.

The body stored is the decoded body httpx hands over; a ``Content-Encoding`` header would then lie about it,
so it is kept as ``X-Archive-Orig-Content-Encoding`` (the same convention web archives use).

Records are built here (request, response, revisit and warcinfo are short header blocks plus the bytes,
with warcio's sha1 block and payload digests), not through warcio's writer, whose stream machinery cost
more than the rest of archiving a page; warcio still reads them (``ArchiveIterator``, as ``read_record``
does). Building a record happens when the page arrives; compressing and appending it happens later, in
``append``, which the crawl's writer thread calls just before the transaction that stores the records'
rows: zlib and the file write run without the GIL there, beside the crawl, and a row never reaches the
database before its record is in the file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import base64
import hashlib
import uuid
import zlib
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders

from crawlers.fetch import FetchResult
from core.settings import Paths

GZIP_LEVEL = 6
_RENAMED_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}
_EMPTY_SHA1 = "sha1:" + base64.b32encode(hashlib.sha1(b"").digest()).decode()


class Archive:
    """Appends one crawl's responses to ``<archive>/<crawl_id>.warc.gz`` and returns their index rows.

    ``write`` (from one thread) builds a fetch's records and returns its row; ``take`` then ``append``
    (``append`` may run in another thread, one call at a time) put the records in the file and fill in
    their rows' ``warc_offset`` and ``warc_length``; ``close`` appends whatever is left.
    """

    def __init__(self, paths: Paths, crawl_id: str, part: int = 0,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        paths.archive.mkdir(parents=True, exist_ok=True)
        self.clock = clock  # when each response was archived (the demo's staged crawls pass their own)
        self.crawl_id = crawl_id
        self.name = f"{crawl_id}.warc.gz" if part == 0 else f"{crawl_id}-r{part}.warc.gz"
        self.path = paths.archive / self.name
        self._fh = self.path.open("ab")
        self._queued: list[tuple[bytes, dict[str, Any] | None]] = []  # (record, the row whose offset it gives)
        if self._fh.tell() == 0:
            info = {"software": "sgs crawlers", "format": "WARC File Format 1.0", "crawl-id": self.crawl_id}
            block = "".join(f"{k}: {v}\r\n" for k, v in info.items()).encode()
            self._queued.append((_record("warcinfo", _new_id(), _warc_date(clock()), None, b"", block,
                                         "application/warc-fields", [("WARC-Filename", self.name)],
                                         payload_digest=False), None))
            self.append(self.take())

    def close(self) -> None:
        if not self._fh.closed:
            self.append(self.take())
            self._fh.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, result: FetchResult, *, source_id: str | None = None, previous: dict[str, Any] | None = None) -> dict[str, Any]:
        """Archive one fetch; return its ``fetches`` row (no WARC record when no response came back).

        ``previous`` is the last archived response of the same request (its ``fetches`` row): when this
        answer is a 304 or carries the same bytes, a revisit record is written instead of the body.
        """
        fetched_at = self.clock()
        row: dict[str, Any] = {
            "fetch_id": _new_id(),
            "crawl_id": self.crawl_id,
            "source_id": source_id,
            "url": result.url,
            "fetched_at": fetched_at,
            "status": result.status,
            "content_type": result.content_type,
            "sha256": None,
            "warc_file": None,
            "warc_offset": None,
            "warc_length": None,
            "error": result.error,
            "method": result.method,
            "form": urlencode(result.form) if result.form is not None else None,
            "etag": result.header("etag"),
            "last_modified": result.header("last-modified"),
            "revisit_of": None,
            "attempts": result.attempts,
        }
        if result.status is None:
            return row
        date = _warc_date(fetched_at)
        sha = hashlib.sha256(result.body).hexdigest()
        row.update(sha256=sha, warc_file=self.name)
        if previous is not None and (result.status == 304 or (result.ok and sha == previous["sha256"])):
            return self._write_revisit(result, row, previous, date)
        self._queued.append((self._request_record(result, date, row["fetch_id"]), None))
        response = _http_block(f"{result.status} {result.reason}".strip(), result.http_version,
                               [*((_archived_name(k), v) for k, v in result.headers),
                                ("Content-Length", str(len(result.body)))])
        self._queued.append((_record("response", row["fetch_id"], date, result.final_url, response, result.body,
                                     "application/http; msgtype=response"), row))
        return row

    def take(self) -> list[tuple[bytes, dict[str, Any] | None]]:
        """The records built since the last ``take``, in order, for ``append``."""
        queued, self._queued = self._queued, []
        return queued

    def append(self, records: list[tuple[bytes, dict[str, Any] | None]]) -> None:
        """Write each record as its own gzip member (level 6: warcio's level 9 costs twice the time for a
        few per cent of size), fill in its row's offset and length, and flush the file."""
        for data, row in records:
            compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)
            member = compressor.compress(data) + compressor.flush()
            if row is not None:
                row["warc_offset"], row["warc_length"] = self._fh.tell(), len(member)
            self._fh.write(member)
        if records:
            self._fh.flush()

    def _write_revisit(self, result: FetchResult, row: dict[str, Any], previous: dict[str, Any], date: str) -> dict[str, Any]:
        """A revisit record (RFC: WARC 1.1 §6.7) referring to ``previous``; the row names it in ``revisit_of``."""
        block = _http_block(f"{result.status} {result.reason}".strip(), result.http_version,
                            [(_archived_name(k), v) for k, v in result.headers])
        refers_date = _warc_date(previous["fetched_at"])
        extra = [("WARC-Refers-To", f"<{previous['fetch_id']}>"), ("WARC-Profile", RecordBuilder.REVISIT_PROFILE),
                 ("WARC-Refers-To-Target-URI", previous["url"]), ("WARC-Refers-To-Date", refers_date),
                 ("WARC-Payload-Digest", f"sha256:{previous['sha256']}")]
        self._queued.append((_record("revisit", row["fetch_id"], date, result.final_url, block, b"",
                                     "application/http; msgtype=response", extra, payload_digest=False), row))
        row.update(sha256=previous["sha256"], revisit_of=previous["fetch_id"], error=None)
        return row

    def _request_record(self, result: FetchResult, date: str, concurrent_to: str) -> bytes:
        parts = urlsplit(result.final_url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        payload = urlencode(result.form).encode() if result.form is not None else b""
        status = StatusAndHeaders(f"{result.method} {target} {result.http_version or 'HTTP/1.1'}",
                                  result.request_headers, is_http_request=True)
        return _record("request", _new_id(), date, result.final_url, status.to_ascii_bytes(), payload,
                       "application/http; msgtype=request", [("WARC-Concurrent-To", f"<{concurrent_to}>")])


def _new_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _warc_date(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha1(*parts: bytes) -> str:
    digest = hashlib.sha1()
    for part in parts:
        digest.update(part)
    return "sha1:" + base64.b32encode(digest.digest()).decode()


def _http_block(statusline: str, protocol: str | None, headers: list[tuple[str, str]]) -> bytes:
    """An HTTP response head as warcio writes it (non-ASCII header values %-encoded, RFC 8187)."""
    head: bytes = StatusAndHeaders(statusline, headers, protocol=protocol or "HTTP/1.1").to_ascii_bytes()
    return head


def _record(rec_type: str, record_id: str, date: str, uri: str | None, head: bytes, payload: bytes,
            content_type: str, extra: Sequence[tuple[str, str]] = (), *, payload_digest: bool = True) -> bytes:
    """One WARC/1.0 record: its header block (with warcio's sha1 block and payload digests), then the
    block (``head`` — HTTP headers — and ``payload``)."""
    headers = [("WARC-Type", rec_type), ("WARC-Record-ID", f"<{record_id}>")]
    if uri:
        headers.append(("WARC-Target-URI", uri))
    headers += [("WARC-Date", date), *extra]
    if payload_digest:
        headers.append(("WARC-Payload-Digest", _sha1(payload) if payload else _EMPTY_SHA1))
    headers += [("WARC-Block-Digest", _sha1(head, payload)), ("Content-Type", content_type),
                ("Content-Length", str(len(head) + len(payload)))]
    warc = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return b"".join((warc.encode(), head, payload, b"\r\n\r\n"))


def _archived_name(name: str) -> str:
    """Headers that describe the wire form, not the stored body, are kept under an X-Archive-Orig- name."""
    return f"X-Archive-Orig-{name}" if name.lower() in _RENAMED_HEADERS else name


def _archived_file(paths: Paths, warc_file: str) -> Path:
    """The archive file named ``warc_file``, which must be a plain name in the archive folder: the name
    comes from the database, never from a person (checked by name, not ``resolve``: a revisit crawl reads
    thousands of originals, and resolving each path was a twentieth of its time)."""
    if not warc_file or Path(warc_file).name != warc_file or warc_file in (".", ".."):
        raise ValueError(f"存档文件 {warc_file} 不在存档目录 {paths.archive} 内")
    return paths.archive / warc_file


def _first_record(paths: Paths, warc_file: str, offset: int) -> tuple[str, str | None, StatusAndHeaders, bytes]:
    """The WARC record at ``offset`` of ``warc_file``: type, target URI, HTTP headers and body."""
    with _archived_file(paths, warc_file).open("rb") as fh:
        fh.seek(offset)
        for record in ArchiveIterator(fh):
            return (record.rec_type, record.rec_headers.get_header("WARC-Target-URI"), record.http_headers,
                    record.content_stream().read())
    raise ValueError(f"{warc_file} 偏移 {offset} 处没有记录")


def read_original(paths: Paths, warc_file: str, offset: int, length: int | None) -> tuple[list[tuple[str, str]], bytes]:
    """The HTTP headers and body of a response record this archive wrote (an unchanged page's original, read
    on every revisit): its one gzip member (``length`` bytes, from the ``fetches`` row) inflated and split
    at the blank lines ``_record`` writes — a third of warcio's cost; warcio reads anything else."""
    if length:
        with _archived_file(paths, warc_file).open("rb") as fh:
            fh.seek(offset)
            member = fh.read(length)
        try:
            data = zlib.decompress(member, zlib.MAX_WBITS | 16)
        except zlib.error:
            data = b""
        warc_head, _, block = data.partition(b"\r\n\r\n")
        if warc_head.startswith(b"WARC/1.0\r\nWARC-Type: response\r\n") and block.endswith(b"\r\n\r\n"):
            http_head, _, body = block[:-4].partition(b"\r\n\r\n")
            lines = http_head.decode("utf-8", "replace").split("\r\n")[1:]
            return [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines)], body
    _, _uri, http, body = _first_record(paths, warc_file, offset)
    return list(http.headers), body


def read_record(paths: Paths, warc_file: str, offset: int) -> tuple[StatusAndHeaders, bytes]:
    """The archived response at ``offset`` of ``warc_file``: its HTTP headers and body (evidence view)."""
    rec_type, _, headers, body = _first_record(paths, warc_file, offset)
    if rec_type != "response":
        raise ValueError(f"{warc_file} 偏移 {offset} 处不是响应记录（而是 {rec_type}）")
    return headers, body


def read_response(paths: Paths, warc_file: str, offset: int) -> tuple[str, StatusAndHeaders, bytes]:
    """The response at ``offset``: its target URI, HTTP headers and body (for replaying a resumed crawl)."""
    _, uri, headers, body = _first_record(paths, warc_file, offset)
    if uri is None:
        raise ValueError(f"{warc_file} 偏移 {offset} 处的记录没有目标 URI（WARC-Target-URI）")
    return uri, headers, body
