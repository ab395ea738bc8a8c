"""An archived page turned into plain text for the evidence view: nothing from a crawled page runs or loads.

Why text and not "cleaned HTML": a crawled page is hostile input (scripts, ``onerror`` handlers, styles,
remote stylesheets and images that would report our readers to a third party). Any HTML we pass on needs a
sanitiser to be right forever; text needs nothing. So the page is parsed with lxml (through BeautifulSoup),
everything that is not content is dropped, table rows are kept on one line (a 双公示 detail page is
a label/value table), and the text is shown with Streamlit's text elements, which escape it.
The page's source is offered the same way, as escaped text. Personal data is masked in both, inside the
links' URLs too (``core.privacy.mask_text``). Bytes become text through the crawler's own decoder
(``core.decode``), so the evidence shows the text the records were read from.
"""
from __future__ import annotations

import json
import re

from bs4 import BeautifulSoup, Comment

from core.decode import decode
from core.privacy import mask_text

# Elements whose content is not text a reader should see (and that could act if ever rendered).
_DROP = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math", "link", "meta",
         "base", "head", "canvas", "audio", "video", "source", "track", "frame", "frameset", "applet")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")


def page_text(body: bytes, content_type: str | None = None) -> str:
    """The visible text of an archived response, one block per line, personal data masked.

    JSON (the credit portal's API) is pretty-printed; other non-HTML bodies are decoded as text.
    """
    ctype = (content_type or "").lower()
    if "json" in ctype:
        try:
            return str(mask_text(json.dumps(json.loads(body), ensure_ascii=False, indent=2)))
        except ValueError:
            pass
    if "html" not in ctype and not body.lstrip()[:1] == b"<":
        return str(mask_text(decode(body, content_type)))
    soup = BeautifulSoup(decode(body, content_type), "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for node in soup.find_all(string=lambda s: isinstance(s, Comment)):
        node.extract()
    for tag in soup.find_all(_DROP):
        if not tag.decomposed:  # a dropped parent takes its children with it
            tag.decompose()
    for row in soup.find_all("tr"):
        cells = [_clean(c.get_text(" ")) for c in row.find_all(["th", "td"])]
        row.replace_with(soup.new_string("\n" + " | ".join(c for c in cells if c) + "\n"))
    for br in soup.find_all("br"):
        br.replace_with("\n")
    blocks = ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "dt", "dd", "table")
    for tag in soup.find_all(blocks):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = [_clean(line) for line in soup.get_text().splitlines()]
    text = "\n".join(line for line in lines if line)
    if title and not text.startswith(title):
        text = f"{title}\n{text}"
    return str(mask_text(text))


def page_source(body: bytes, content_type: str | None = None) -> str:
    """The response body as text (for a reader who wants the markup), personal data masked; never rendered."""
    return str(mask_text(decode(body, content_type)))


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip()
