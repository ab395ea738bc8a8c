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
"""
from __future__ import annotations

import hashlib
import uuid
import zlib
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawlers.fetch import FetchResult
from sgs.settings import Paths

GZIP_LEVEL = 6
_RENAMED_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


class Archive:
    """Appends one crawl's responses to ``<archive>/<crawl_id>.warc.gz`` and returns their index rows.

    Used from one event-loop thread: ``write`` does no awaiting, so records never interleave.
    """

    def __init__(self, paths: Paths, crawl_id: str, part: int = 0) -> None:
        paths.archive.mkdir(parents=True, exist_ok=True)
        self.crawl_id = crawl_id
        self.name = f"{crawl_id}.warc.gz" if part == 0 else f"{crawl_id}-r{part}.warc.gz"
        self.path = paths.archive / self.name
        self._fh = self.path.open("ab")
        self._buffer = BytesIO()
        self._writer = WARCWriter(self._buffer, gzip=False)
        self._write_info()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write_info(self) -> None:
        if self._fh.tell() == 0:
            info = {"software": "sgs crawlers", "format": "WARC File Format 1.1", "crawl-id": self.crawl_id}
            self._append(self._writer.create_warcinfo_record(self.name, info))
            self._fh.flush()

    def write(self, result: FetchResult, *, source_id: str | None = None, previous: dict | None = None) -> dict:
        """Archive one fetch; return its ``fetches`` row (no WARC record when no response came back).

        ``previous`` is the last archived response of the same request (its ``fetches`` row): when this
        answer is a 304 or carries the same bytes, a revisit record is written instead of the body.
        """
        fetched_at = datetime.now()
        row = {
            "fetch_id": f"urn:uuid:{uuid.uuid4()}",
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
        warc_date = fetched_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        sha = hashlib.sha256(result.body).hexdigest()
        if previous is not None and (result.status == 304 or (result.ok and sha == previous["sha256"])):
            return self._write_revisit(result, row, previous, warc_date)
        response = self._response_record(result, warc_date)
        request = self._request_record(result, warc_date, response.rec_headers.get_header("WARC-Record-ID"))
        self._append(request)
        offset, length = self._append(response)
        self._fh.flush()
        row.update(
            fetch_id=response.rec_headers.get_header("WARC-Record-ID").strip("<>"),
            sha256=sha,
            warc_file=self.name,
            warc_offset=offset,
            warc_length=length,
        )
        return row

    def _append(self, record) -> tuple[int, int]:
        """Write one record as its own gzip member (level 6: warcio's level 9 costs twice the time for a
        few per cent of size); return its offset and length in the file."""
        self._writer.write_record(record)
        data = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        member = compressor.compress(data) + compressor.flush()
        offset = self._fh.tell()
        self._fh.write(member)
        return offset, len(member)

    def _write_revisit(self, result: FetchResult, row: dict, previous: dict, warc_date: str) -> dict:
        """A revisit record (RFC: WARC 1.1 §6.7) referring to ``previous``; the row names it in ``revisit_of``."""
        headers = [(_archived_name(k), v) for k, v in result.headers]
        status = StatusAndHeaders(f"{result.status} {result.reason}".strip(), headers,
                                  protocol=result.http_version or "HTTP/1.1")
        refers_date = previous["fetched_at"].astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        record = self._writer.create_revisit_record(
            result.final_url, f"sha256:{previous['sha256']}", previous["url"], refers_date,
            http_headers=status, warc_headers_dict={"WARC-Date": warc_date,
                                                    "WARC-Refers-To": f"<{previous['fetch_id']}>"})
        offset, length = self._append(record)
        self._fh.flush()
        row.update(fetch_id=record.rec_headers.get_header("WARC-Record-ID").strip("<>"), sha256=previous["sha256"],
                   warc_file=self.name, warc_offset=offset, warc_length=length,
                   revisit_of=previous["fetch_id"], error=None)
        return row

    def _response_record(self, result: FetchResult, warc_date: str):
        headers = [(_archived_name(k), v) for k, v in result.headers]
        headers.append(("Content-Length", str(len(result.body))))
        status = StatusAndHeaders(f"{result.status} {result.reason}".strip(), headers,
                                  protocol=result.http_version or "HTTP/1.1")
        return self._writer.create_warc_record(
            result.final_url, "response", payload=BytesIO(result.body), length=len(result.body),
            http_headers=status, warc_headers_dict={"WARC-Date": warc_date},
        )

    def _request_record(self, result: FetchResult, warc_date: str, concurrent_to: str):
        parts = urlsplit(result.final_url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        payload = urlencode(result.form).encode() if result.form is not None else b""
        status = StatusAndHeaders(f"{result.method} {target} {result.http_version or 'HTTP/1.1'}",
                                  result.request_headers, is_http_request=True)
        return self._writer.create_warc_record(
            result.final_url, "request", payload=BytesIO(payload), length=len(payload), http_headers=status,
            warc_headers_dict={"WARC-Date": warc_date, "WARC-Concurrent-To": concurrent_to},
        )


def _archived_name(name: str) -> str:
    """Headers that describe the wire form, not the stored body, are kept under an X-Archive-Orig- name."""
    return f"X-Archive-Orig-{name}" if name.lower() in _RENAMED_HEADERS else name


def _first_record(paths: Paths, warc_file: str, offset: int) -> tuple[str, str | None, StatusAndHeaders, bytes]:
    """The WARC record at ``offset`` of ``warc_file``: type, target URI, HTTP headers and body.

    The file must lie inside the archive folder: the name comes from the database, never from a person.
    """
    path = (paths.archive / warc_file).resolve()
    if paths.archive.resolve() not in path.parents:
        raise ValueError(f"存档文件 {warc_file} 不在存档目录 {paths.archive} 内")
    with Path(path).open("rb") as fh:
        fh.seek(offset)
        for record in ArchiveIterator(fh):
            return (record.rec_type, record.rec_headers.get_header("WARC-Target-URI"), record.http_headers,
                    record.content_stream().read())
    raise ValueError(f"{warc_file} 偏移 {offset} 处没有记录")


def read_record(paths: Paths, warc_file: str, offset: int) -> tuple[StatusAndHeaders, bytes]:
    """The archived response at ``offset`` of ``warc_file``: its HTTP headers and body (evidence view)."""
    rec_type, _, headers, body = _first_record(paths, warc_file, offset)
    if rec_type != "response":
        raise ValueError(f"{warc_file} 偏移 {offset} 处不是响应记录（而是 {rec_type}）")
    return headers, body


def read_response(paths: Paths, warc_file: str, offset: int) -> tuple[str, StatusAndHeaders, bytes]:
    """The response at ``offset``: its target URI, HTTP headers and body (for replaying a resumed crawl)."""
    _, uri, headers, body = _first_record(paths, warc_file, offset)
    return uri, headers, body
