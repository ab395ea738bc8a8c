"""Hostile files, small and generated: a spreadsheet whose one cell sits at the sheet's last row and column.

Served by the demo city as a department's deliberately broken attachment (``shapes.BROKEN``, ``bad``) and
used by tests/test_hostile_files.py: 5–6 KB that a reader without limits turns into hundreds of GiB
(calamine builds a sheet as a dense rectangle from A1 to its last cell; core/bounded.py refuses it).
"""
from __future__ import annotations

import io
import zipfile

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_PARTS = {
    "[Content_Types].xml":
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '{overrides}</Types>',
    "_rels/.rels":
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
}
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def workbook_parts(sheets: dict[str, str]) -> dict[str, str]:
    """The parts of a minimal workbook, every part except the sheets' XML: ``sheets`` maps a sheet's name to
    its member path (``xl/worksheets/sheet1.xml``)."""
    overrides = "".join(f'<Override PartName="/{path}" ContentType="{_SHEET_TYPE}"/>' for path in sheets.values())
    entries = "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, 1))
    rels = "".join(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                   f'relationships/worksheet" Target="{path.removeprefix("xl/")}"/>'
                   for i, path in enumerate(sheets.values(), 1))
    return {
        "[Content_Types].xml": _PARTS["[Content_Types].xml"].format(overrides=overrides),
        "_rels/.rels": _PARTS["_rels/.rels"],
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook {_NS} xmlns:r="http://schemas.'
                           f'openxmlformats.org/officeDocument/2006/relationships"><sheets>{entries}</sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                                      f'openxmlformats.org/package/2006/relationships">{rels}</Relationships>',
    }


def sheet_xml(cells: str) -> str:
    """A worksheet part whose ``sheetData`` holds ``cells`` (``<row>`` elements)."""
    return f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_NS}><sheetData>{cells}</sheetData></worksheet>'


def one_cell_xlsx(ref: str = "XFD1048576", text: str = "行政许可信息") -> bytes:
    """A workbook whose only cell is ``ref`` (an inline string), padded with a comment to the 5.5 KB of the
    file found in the wild."""
    row = "".join(ch for ch in ref if ch.isdigit())
    cells = f'<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c></row>'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:  # dated members: the same bytes every time
        for name, xml in workbook_parts({"附件": "xl/worksheets/sheet1.xml"}).items():
            z.writestr(_member(name), xml)
        z.writestr(_member("xl/worksheets/sheet1.xml"), sheet_xml(cells))
        z.writestr(_member("docProps/padding.bin", zipfile.ZIP_STORED), bytes(range(256)) * 16)
    return out.getvalue()


def _member(name: str, compress_type: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2026, 6, 1, 0, 0, 0))
    info.compress_type = compress_type
    return info
