"""Content-Encoding decoded in bounded steps: a compression bomb costs one refused response, never memory.

httpx's ``aiter_bytes`` hands over each chunk whole-decompressed, so a 6.7 KB ``gzip, gzip`` answer grew to
8 GB before any limit was checked. Here every layer (gzip, several members allowed; deflate, zlib-wrapped or
raw) inflates at most ``DECODE_STEP`` bytes per step, and each layer's output is counted against the limit as
it grows; codings we do not ask for and more than ``MAX_ENCODING_LAYERS`` layers are refused outright.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterator

from core.errors import SgsError

DECODE_STEP = 256 * 1024  # the most one decompression step may produce (then the limits are checked)
MAX_ENCODING_LAYERS = 2  # ``gzip, gzip`` is legal and rare; deeper nesting is only ever a bomb
ACCEPT_ENCODING = "gzip, deflate"  # what ``BoundedDecoder`` decodes, whatever codecs httpx could load
_UNSUPPORTED_CODINGS = {"br", "zstd", "compress", "x-compress"}  # real codings we do not ask for or decode


class Refused(SgsError):
    """A response not read to the end (too large, undecodable): final, never retried; the message is Chinese
    and completes "<url> 的响应…"."""


class _Layer:
    """One gzip or deflate layer, inflated in steps of at most ``DECODE_STEP`` bytes, its output counted.

    deflate is zlib-wrapped by the RFC and raw from some servers (as httpx and browsers accept); the first two
    bytes tell which. gzip may come as several members, one after the other (as ``gzip -c a b``).
    """

    def __init__(self, coding: str, limit: int) -> None:
        self.coding = coding
        self.limit = limit
        self.produced = 0
        self._head = b""  # deflate's first bytes, until they say zlib or raw
        self._ended = False
        self._inflater: zlib._Decompress | None = (
            zlib.decompressobj(zlib.MAX_WBITS | 16) if coding == "gzip" else None)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._ended:
            return
        if self._inflater is None:
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS if _zlib_header(data) else -zlib.MAX_WBITS)
        yield from self._steps(data)

    def finish(self) -> Iterator[bytes]:
        if self._head:  # a one-byte deflate body: never valid, but let zlib say so
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            yield from self._steps(self._head)
        if self._inflater is not None and not self._ended:
            yield from self._steps(b"")  # whatever zlib still holds, a step at a time

    def _steps(self, data: bytes) -> Iterator[bytes]:
        """Inflate ``data`` a step at a time: zlib keeps what it has not yet inflated in ``unconsumed_tail``."""
        assert self._inflater is not None
        while True:
            out = self._inflater.decompress(data, DECODE_STEP)
            if out:
                yield self._count(out)
            data = self._inflater.unconsumed_tail
            if self._inflater.eof:
                data = self._inflater.unused_data
                if self.coding == "gzip" and len(data) < 2 and b"\x1f\x8b".startswith(data):
                    return  # perhaps another member, in the next bytes
                if self.coding != "gzip" or data[:2] != b"\x1f\x8b":
                    self._ended = True  # what follows the stream is ignored, as browsers do
                    return
                self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)  # the next gzip member
            elif not data and len(out) < DECODE_STEP:
                return

    def _count(self, out: bytes) -> bytes:
        self.produced += len(out)
        if self.produced > self.limit:
            raise Refused(f"解压（{self.coding}）后超过 {self.limit} 字节上限，已放弃（疑为压缩炸弹）")
        return out


class BoundedDecoder:
    """A response body's Content-Encoding undone in bounded steps: no step yields more than
    ``DECODE_STEP`` bytes, and no layer more than ``limit`` in all (``Refused`` otherwise).

    Unrecognised tokens (``Content-Encoding: utf-8`` from a misconfigured server) are ignored, as browsers do:
    nothing is inflated, so nothing can blow up. Real codings we do not ask for (br, zstd) are refused.
    """

    def __init__(self, content_encoding: list[str], limit: int) -> None:
        codings = [c.strip().lower() for c in content_encoding]
        codings = ["gzip" if c == "x-gzip" else c for c in codings if c in ("gzip", "x-gzip", "deflate")
                   or c in _UNSUPPORTED_CODINGS]
        if unsupported := [c for c in codings if c in _UNSUPPORTED_CODINGS]:
            raise Refused(f"使用了不支持的压缩编码 {', '.join(unsupported)}（本系统只请求 {ACCEPT_ENCODING}），已放弃")
        if len(codings) > MAX_ENCODING_LAYERS:
            raise Refused(f"压缩了 {len(codings)} 层（Content-Encoding: {', '.join(codings)}；最多 "
                          f"{MAX_ENCODING_LAYERS} 层），已放弃（疑为压缩炸弹）")
        self.layers = [_Layer(c, limit) for c in reversed(codings)]  # the last coding applied comes off first

    def feed(self, raw: bytes) -> Iterator[bytes]:
        """The decoded pieces of the next raw bytes, each at most ``DECODE_STEP`` long."""
        yield from self._through(raw, 0)

    def finish(self) -> Iterator[bytes]:
        """What the layers still hold once the raw body has ended."""
        for i, layer in enumerate(self.layers):
            for piece in self._guarded(layer.finish(), layer):
                yield from self._through(piece, i + 1)

    def _through(self, data: bytes, first: int) -> Iterator[bytes]:
        if first == len(self.layers):
            if data:
                yield data
            return
        layer = self.layers[first]
        for piece in self._guarded(layer.feed(data), layer):
            yield from self._through(piece, first + 1)

    @staticmethod
    def _guarded(pieces: Iterator[bytes], layer: _Layer) -> Iterator[bytes]:
        try:
            yield from pieces
        except zlib.error as exc:
            raise Refused(f"无法解压（Content-Encoding: {layer.coding}，数据损坏：{exc}），已放弃") from None


def _zlib_header(data: bytes) -> bool:
    """Whether a deflate body starts with a zlib header (RFC 1950: method 8, header check divisible by 31)."""
    return data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
