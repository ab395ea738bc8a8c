"""Word (.docx) building blocks in the form a Chinese government office expects (after GB/T 9704 where it
matters): A4 with the standard margins, 黑体 title and level-1 headings, 楷体 level-2 headings, 仿宋 body,
tables with a repeating shaded header row, and the page number centred in the footer (— 3 —).

Chinese fonts are set as the styles' ``eastAsia`` font (runs inherit them), with the theme fonts removed so
Word and LibreOffice use the names given; an office suite without 仿宋 substitutes its own CJK font
(fontconfig on Linux), so the text never depends on one font file.

Every string written goes through ``core.privacy.mask_text`` here (``text``): one place, so no ID or
mobile number reaches a document whatever a caller passes. Tables are built by copying one prepared row's
XML per data row: python-docx's ``Table.cell`` and ``add_row`` are far too slow for tens of thousands of rows.
"""
from __future__ import annotations

import copy
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from core.privacy import mask_text

BODY_FONT, HEADING_FONT, SUBHEADING_FONT, LATIN_FONT = "仿宋", "黑体", "楷体", "Times New Roman"
# style → (east-Asian font, size in points, bold)
STYLES: dict[str, tuple[str, float, bool]] = {
    "Normal": (BODY_FONT, 14, False),   # 四号仿宋
    "Title": (HEADING_FONT, 22, False),  # 二号
    "Subtitle": (SUBHEADING_FONT, 16, False),
    "Heading 1": (HEADING_FONT, 16, False),  # 三号黑体：一、二、三、
    "Heading 2": (SUBHEADING_FONT, 15, True),  # 楷体：（一）（二）
    "Heading 3": (BODY_FONT, 14, True),
    "Caption": (BODY_FONT, 10.5, False),
}
TABLE_FONT_SIZE = Pt(9)  # 小五
CELL_MARGIN_TWIPS = 57  # 1 mm left and right inside a cell, so two-decimal scores fit narrow columns
HEADER_FILL = "D9D9D9"


def text(value: Any) -> str:
    """A value as document text: None → "", floats with two decimals, personal numbers masked."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if value != value else f"{value:.2f}"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return mask_text(str(value))


def new_document(title: str, author: str, when: datetime) -> DocxDocument:
    """An empty A4 document with the office styles, page numbers, and fixed core properties (the same data
    gives the same file metadata)."""
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    for name, (font, size, bold) in STYLES.items():
        _style_font(doc.styles[name], font, size, bold)
    title_style = doc.styles["Title"]
    title_style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for border in title_style.element.xpath("w:pPr/w:pBdr"):  # the template's blue rule under the title
        border.getparent().remove(border)
    doc.styles["Subtitle"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.styles["Normal"].paragraph_format.line_spacing = 1.25
    _page_numbers(section)
    props = doc.core_properties
    props.title, props.author, props.last_modified_by = title, author, author
    props.created = props.modified = when.replace(microsecond=0)
    props.revision = 1
    return doc


def _style_font(style, east_asian: str, size: float, bold: bool) -> None:
    """Set a style's fonts explicitly (no theme fonts, black), so the Chinese font named is the one used."""
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.italic = False
    style.font.color.rgb = RGBColor(0, 0, 0)
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in list(fonts.attrib):
        del fonts.attrib[attr]
    fonts.set(qn("w:ascii"), LATIN_FONT)
    fonts.set(qn("w:hAnsi"), LATIN_FONT)
    fonts.set(qn("w:eastAsia"), east_asian)
    fonts.set(qn("w:hint"), "eastAsia")


def _page_numbers(section) -> None:
    """Centre "— PAGE —" in the footer with a PAGE field (the suite fills in each page's number)."""
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.add_run("— ")
    for kind, instr in (("begin", None), (None, " PAGE "), ("separate", None), (None, None), ("end", None)):
        run = p.add_run("1" if kind is None and instr is None else "")
        if kind:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run._r.append(fld)
        elif instr:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = instr
            run._r.append(el)
    p.add_run(" —")


def orientation(doc, landscape: bool) -> None:
    """Start a new page section, landscape (wide tables: every column fits its figures) or back to portrait;
    margins as the first page's, page numbers continue (the footer is linked to the section before)."""
    from docx.enum.section import WD_SECTION

    turn(doc.add_section(WD_SECTION.NEW_PAGE), landscape)


def turn(section, landscape: bool) -> None:
    """Lay one section's pages landscape or portrait, with the margins that orientation has (a document whose
    every page is wide turns its first section: no near-empty portrait first page)."""
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    long, short = Mm(297), Mm(210)
    section.page_width, section.page_height = (long, short) if landscape else (short, long)
    if landscape:
        section.top_margin, section.bottom_margin = Mm(28), Mm(26)
        section.left_margin, section.right_margin = Mm(37), Mm(35)
    else:
        section.top_margin, section.bottom_margin = Mm(37), Mm(35)
        section.left_margin, section.right_margin = Mm(28), Mm(26)


def paragraph(doc, content: str, *, indent: bool = True, bold: bool = False, align=None):
    """A body paragraph, first line indented two characters as official documents are."""
    p = doc.add_paragraph()
    run = p.add_run(text(content))
    run.bold = bold or None
    if indent:
        p.paragraph_format.first_line_indent = Pt(28)
    if align is not None:
        p.alignment = align
    return p


def table(doc, headers: Sequence[str], rows: Iterable[Sequence[Any]], widths_mm: Sequence[float],
          right: Sequence[int] = ()) -> None:
    """A grid table with a shaded header row repeated on every page; ``right``: right-aligned columns.

    The header and one template row are made with python-docx; each data row is a copy of the template's
    XML with its texts filled in (linear in the rows, a few microseconds each)."""
    t = doc.add_table(rows=2, cols=len(headers))
    t.style = doc.styles["Table Grid"]
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False  # w:tblLayout fixed: the grid's widths, not what the text would like
    _cell_margins(t._tbl.tblPr)
    head, tpl = t.rows
    _row_flag(head._tr, "w:tblHeader")  # repeated at the top of every page
    _row_flag(tpl._tr, "w:cantSplit")  # a row is never broken across pages
    for i, (name, width) in enumerate(zip(headers, widths_mm)):
        t.columns[i].width = Mm(width)  # the grid, which LibreOffice follows
        for row in (head, tpl):
            cell = row.cells[i]
            cell.width = Mm(width)
            para = cell.paragraphs[0]
            para.paragraph_format.first_line_indent = Pt(0)
            para.paragraph_format.line_spacing = 1.0
            run = para.add_run(name if row is head else "x")
            run.font.size = TABLE_FONT_SIZE
            if row is head:
                run.bold = True
                para.alignment = WD_ALIGN_PARAGRAPH.CENTER
                _shade(cell)
            elif i in right:
                para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    template = tpl._tr
    body = t._tbl
    body.remove(template)
    for values in rows:
        tr = copy.deepcopy(template)
        for t_el, value in zip(tr.iter(qn("w:t")), values):
            t_el.text = text(value)
        body.append(tr)


def _cell_margins(tblpr) -> None:
    """Narrow left and right cell margins, placed before ``w:tblLook`` as the schema orders them (Word
    refuses a file whose table properties are out of order)."""
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(CELL_MARGIN_TWIPS))
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    look = tblpr.find(qn("w:tblLook"))
    if look is not None:
        look.addprevious(margins)
    else:
        tblpr.append(margins)


def _row_flag(tr, tag: str) -> None:
    el = OxmlElement(tag)
    el.set(qn("w:val"), "true")
    tr.get_or_add_trPr().append(el)


def _shade(cell) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), HEADER_FILL)
    cell._tc.get_or_add_tcPr().append(shd)


def picture(doc, png: bytes, caption: str, width_mm: float = 150) -> None:
    """A centred chart with its caption under it."""
    doc.add_picture(io.BytesIO(png), width=Mm(width_mm))
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    cap = doc.add_paragraph(text(caption), style="Caption")
    cap.alignment = WD_ALIGN_PARAGRAPH.CENTER


def signature(doc, office: str, day) -> None:
    """The issuing office and the date, right-aligned at the end (落款)."""
    doc.add_paragraph()
    for line in (office, f"{day.year}年{day.month}月{day.day}日"):
        paragraph(doc, line, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)


def to_bytes(doc) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
