"""The reference for ``bench/validate_bench.py``: the checks ``sgs validate`` makes on a penalty CSV, written as a
clerk who knows pandas would write them — read_csv, one vectorised check per column, the GB 32100 / GB 11643
check characters through ``apply``, dates through ``pd.to_datetime``.

    python bench/pandas_validate.py FILE.csv [--out FINDINGS.tsv]

It knows nothing of sgs (no import from the project): the column names are the standard's Chinese names, and
the rules are the 790号 standard's as the clerk reads them. It prints how many findings it made and writes
them as ``row<TAB>field<TAB>rule`` lines, the spreadsheet's row numbers (header on row 1), so the bench can
compare them with ``sgs validate``'s findings. Written for the benchmark's file (bench/validate_data.py): it
reads dates written as 2025-02-14 or 2025年2月14日 and fines in 万元, the forms that file uses.
"""
from __future__ import annotations

import argparse
import re
import sys
from datetime import date

import pandas as pd

NAMES = {
    "行政相对人名称": "CF_XDR_MC", "行政相对人类别": "CF_XDR_LB", "统一社会信用代码": "CF_XDR_SHXYM",
    "法定代表人": "CF_FRDB", "证件类型": "CF_XDR_ZJLX", "证件号码": "CF_XDR_ZJHM", "行政处罚决定书文号": "CF_WSH",
    "违法行为类型": "CF_WFXW", "违法事实": "CF_SY", "处罚依据": "CF_YJ", "处罚类别": "CF_CFLB", "处罚内容": "CF_NR",
    "罚款金额（万元）": "CF_NR_FK", "没收违法所得、没收非法财物的金额（万元）": "CF_NR_WFFF",
    "暂扣或吊销证照名称及编号": "CF_NR_ZKDX", "处罚决定日期": "CF_JDRQ", "处罚有效期": "CF_YXQ", "公示截止期": "CF_GSJZQ",
    "处罚机关": "CF_CFJG", "处罚机关统一社会信用代码": "CF_CFJGDM", "数据来源单位": "CF_SJLY",
    "数据来源单位统一社会信用代码": "CF_SJLYDM", "备注": "BZ",
}
REQUIRED = ("CF_XDR_MC", "CF_XDR_LB", "CF_WSH", "CF_WFXW", "CF_SY", "CF_YJ", "CF_CFLB", "CF_NR", "CF_JDRQ",
            "CF_YXQ", "CF_CFJG", "CF_CFJGDM", "CF_SJLY", "CF_SJLYDM")
XDR_LB = {"法人及非法人组织", "自然人", "个体工商户", "01", "02", "03", "04", "法人", "非法人组织"}
XDR_LB_ALIAS = {"01": "自然人", "02": "法人及非法人组织", "03": "法人及非法人组织", "04": "个体工商户",
                "法人": "法人及非法人组织", "非法人组织": "法人及非法人组织"}
ZJLX = {"身份证", "护照号", "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "外国人永久居留身份证", "居民身份证", "护照"}
CFLB = {"警告", "通报批评", "罚款", "没收违法所得", "没收非法财物", "暂扣许可证件", "降低资质等级", "吊销许可证件",
        "限制开展生产经营活动", "责令停产停业", "责令关闭", "限制从业", "行政拘留", "暂扣或者吊销许可证", "暂扣或者吊销执照"}
CONDITIONAL = {  # field → (the field deciding it, values that make it required)
    "CF_XDR_SHXYM": ("CF_XDR_LB", {"法人及非法人组织", "个体工商户"}), "CF_FRDB": ("CF_XDR_LB", {"法人及非法人组织"}),
    "CF_XDR_ZJLX": ("CF_XDR_LB", {"自然人"}), "CF_XDR_ZJHM": ("CF_XDR_LB", {"自然人"}),
    "CF_NR_FK": ("CF_CFLB", {"罚款"}), "CF_NR_WFFF": ("CF_CFLB", {"没收违法所得", "没收非法财物"}),
    "CF_NR_ZKDX": ("CF_CFLB", {"暂扣许可证件", "吊销许可证件", "暂扣或者吊销许可证", "暂扣或者吊销执照"}),
}
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
PLACEHOLDER = "00000000000000000X"
WSH = r"^\S+[〔\[（(【][12][0-9]{3}[〕\]）)】]第?[0-9]+号$"


def uscc_ok(code: str) -> bool:
    """GB 32100 check character and the GB 11714 organisation code's inside it."""
    if not re.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{18}", code):
        return False
    total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(code[:17]))
    if USCC_ALPHABET[(31 - total % 31) % 31] != code[17]:
        return False
    org = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(code[8:16], (3, 7, 9, 10, 5, 8, 4, 2)))
    check = 11 - org % 11
    return code[16] == ("X" if check == 10 else "0" if check == 11 else str(check))


def ric_ok(number: str) -> bool:
    """GB 11643: 17 digits, a birth date, the check character."""
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        return False
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    total = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(number[:17]))
    return "10X98765432"[total % 11] == number[17]


def to_date(column: pd.Series) -> pd.Series:
    """Dates written 2025-02-14, 2025/2/14 or 2025年2月14日; outside 1949-10-01..2099-12-31 is no date."""
    iso = pd.to_datetime(column, format="%Y-%m-%d", errors="coerce")
    cn = pd.to_datetime(column, format="%Y年%m月%d日", errors="coerce")
    slash = pd.to_datetime(column, format="%Y/%m/%d", errors="coerce")
    out = iso.fillna(cn).fillna(slash)
    long_year = column.str.match(r"^\d{4}")
    return out.where(long_year & (out >= "1949-10-01") & (out <= "2099-12-31"))


def categories(column: pd.Series) -> pd.Series:
    return column.str.split(r"[、;,，；]").apply(lambda items: [i.strip() for i in items])


def check(df: pd.DataFrame, today: date) -> list[tuple[int, str, str]]:
    found: list[tuple[int, str, str]] = []

    def add(mask: pd.Series, field: str, rule: str) -> None:
        found.extend((int(i) + 2, field, rule) for i in df.index[mask.fillna(False).astype(bool)])

    filled = {c: df[c] != "" for c in df.columns}
    for c in REQUIRED:
        add(~filled[c], c, "required_missing")
    lb = df["CF_XDR_LB"].map(lambda v: XDR_LB_ALIAS.get(v, v))
    cats = categories(df["CF_CFLB"])
    for c, (by, values) in CONDITIONAL.items():
        holds = lb.isin(values) if by == "CF_XDR_LB" else cats.apply(lambda items: bool(values & set(items)))
        add(filled[by] & holds & ~filled[c], c, "conditional_missing")
    for c in ("CF_XDR_SHXYM", "CF_CFJGDM", "CF_SJLYDM"):
        add(df[c] == PLACEHOLDER, c, "credit_code_placeholder")
        add(filled[c] & (df[c] != PLACEHOLDER) & ~df[c].apply(uscc_ok), c, "credit_code_invalid")
    is_id = ~filled["CF_XDR_ZJLX"] | df["CF_XDR_ZJLX"].isin({"身份证", "居民身份证"})
    zjhm = df["CF_XDR_ZJHM"]
    add(filled["CF_XDR_ZJHM"] & ~zjhm.str.contains("*", regex=False) & is_id & ~zjhm.apply(ric_ok),
        "CF_XDR_ZJHM", "id_number_invalid")
    add(filled["CF_XDR_LB"] & ~df["CF_XDR_LB"].isin(XDR_LB), "CF_XDR_LB", "enum_invalid")
    add(filled["CF_XDR_ZJLX"] & ~(df["CF_XDR_ZJLX"].isin(ZJLX) | df["CF_XDR_ZJLX"].str.match(r"^其他-.")),
        "CF_XDR_ZJLX", "enum_invalid")
    add(filled["CF_CFLB"] & ~cats.apply(lambda items: all(i in CFLB or (i.startswith("其他-") and len(i) > 3)
                                                          for i in items)), "CF_CFLB", "enum_invalid")
    dates = {c: to_date(df[c]) for c in ("CF_JDRQ", "CF_YXQ", "CF_GSJZQ")}
    for c, d in dates.items():
        add(filled[c] & d.isna(), c, "date_invalid")
    add(dates["CF_YXQ"] < dates["CF_JDRQ"], "CF_YXQ", "date_order")
    add(dates["CF_JDRQ"] > pd.Timestamp(today), "CF_JDRQ", "date_order")
    fine = pd.to_numeric(df["CF_NR_FK"], errors="coerce")
    fined = filled["CF_CFLB"] & cats.apply(lambda items: "罚款" in items) & filled["CF_NR_FK"]
    add(fined & (fine.isna() | (fine <= 0) | (fine > 1000)), "CF_NR_FK", "fine_implausible")
    add(filled["CF_WSH"] & ~df["CF_WSH"].str.match(WSH), "CF_WSH", "wsh_format")
    number = df["CF_WSH"].where(filled["CF_WSH"])
    add(number.notna() & number.duplicated(keep=False), "CF_WSH", "duplicate_record")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--out")
    args = parser.parse_args()
    df = pd.read_csv(args.file, dtype=str, keep_default_na=False).rename(columns=NAMES)
    df = df.apply(lambda s: s.str.strip())
    found = check(df, date.today())
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.writelines(f"{r}\t{f}\t{rule}\n" for r, f, rule in sorted(found))
    print(f"{len(found)} findings", file=sys.stderr)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
