"""The benchmark's penalty CSV: ``rows`` records under the 23 standard column names a department's export
carries, about 8 % of the rows with one error of a kind the pre-publication rules catch.

    python bench/validate_data.py OUT.csv [--rows 100000]

Deterministic (a seeded generator), written streamed, so the 1 M-row file costs no memory. Values are written
as clerks write them (a date as 2025-02-14 or 2025年2月14日, a fine in 万元), and the errors are those of real
files: a mistyped credit code or ID number, a date that is not one, a required field left empty, a category
outside the enumeration, a fine in 元 under a 万元 header, a 文书号 without its year, a validity before the
decision.
"""
from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import codes, standard  # noqa: E402

COLUMNS = ("CF_XDR_MC", "CF_XDR_LB", "CF_XDR_SHXYM", "CF_FRDB", "CF_XDR_ZJLX", "CF_XDR_ZJHM", "CF_WSH", "CF_WFXW",
           "CF_SY", "CF_YJ", "CF_CFLB", "CF_NR", "CF_NR_FK", "CF_NR_WFFF", "CF_NR_ZKDX", "CF_JDRQ", "CF_YXQ",
           "CF_GSJZQ", "CF_CFJG", "CF_CFJGDM", "CF_SJLY", "CF_SJLYDM", "BZ")
ERROR_SHARE = 0.08
AGENCY = ("长治市生态环境局", "11140400" + "0123456A")
ERRORS = ("credit_code", "date", "required", "enum", "fine", "id_number", "wsh", "date_order")


def _uscc(rng: random.Random) -> str:
    org8 = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    body = "91140400" + org8 + codes.org_check_char(org8)
    return body + codes.uscc_check_char(body)


def _ric(rng: random.Random) -> str:
    first17 = f"140402{rng.randint(1950, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return first17 + codes.ric_check_char(first17)


def _agency() -> str:
    body = AGENCY[1] + codes.org_check_char(AGENCY[1][8:16])
    return body[:17] + codes.uscc_check_char(body[:17])


def record(n: int, rng: random.Random) -> dict[str, str]:
    """One record; about ERROR_SHARE of them with one error (which one is drawn)."""
    person = rng.random() < 0.3
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    iso = f"2025-{month:02d}-{day:02d}"
    fine = rng.choice(("0.5", "1", "2", "0.2", "3.5", "10"))
    rec = {
        "CF_XDR_MC": f"张{n}" if person else f"长治市某某{n}商贸有限公司",
        "CF_XDR_LB": "自然人" if person else "法人及非法人组织",
        "CF_XDR_SHXYM": "" if person else _uscc(rng),
        "CF_FRDB": "" if person else f"王{n % 997}",
        "CF_XDR_ZJLX": "身份证" if person else "",
        "CF_XDR_ZJHM": _ric(rng) if person else "",
        "CF_WSH": f"长环罚〔2025〕{n}号",
        "CF_WFXW": "违反大气污染防治法",
        "CF_SY": f"露天焚烧废弃物，面积约{n % 50 + 1}平方米",
        "CF_YJ": "《大气污染防治法》第一百一十九条",
        "CF_CFLB": rng.choice(("罚款", "警告;罚款", "警告、罚款")),
        "CF_NR": f"罚款{fine}万元",
        "CF_NR_FK": fine,
        "CF_NR_WFFF": "",
        "CF_NR_ZKDX": "",
        "CF_JDRQ": iso if rng.random() < 0.8 else f"2025年{month}月{day}日",
        "CF_YXQ": f"2026-{month:02d}-{day:02d}",
        "CF_GSJZQ": f"2026-{month:02d}-{day:02d}",
        "CF_CFJG": AGENCY[0], "CF_CFJGDM": _agency(), "CF_SJLY": AGENCY[0], "CF_SJLYDM": _agency(),
        "BZ": "",
    }
    if rng.random() < ERROR_SHARE:
        _spoil(rec, rng.choice(ERRORS), person, rng)
    return rec


def _spoil(rec: dict[str, str], error: str, person: bool, rng: random.Random) -> None:
    if error == "credit_code":
        field = "CF_CFJGDM" if person else "CF_XDR_SHXYM"
        code = rec[field]
        rec[field] = code[:17] + ("0" if code[17] != "0" else "1") if rng.random() < 0.7 else code[:12]
    elif error == "date":
        rec["CF_JDRQ"] = rng.choice(("2025-02-30", "2025-13-01", "待定", "25-1-5"))
    elif error == "required":
        rec[rng.choice(("CF_SY", "CF_YJ", "CF_XDR_MC", "CF_NR"))] = ""
    elif error == "enum":
        rec[rng.choice(("CF_XDR_LB", "CF_CFLB"))] = rng.choice(("企业", "罚金", "罚款、责令改正"))
    elif error == "fine":
        rec["CF_NR_FK"] = rng.choice(("20000", "若干", "0"))
    elif error == "id_number" and person:
        rec["CF_XDR_ZJHM"] = rec["CF_XDR_ZJHM"][:17] + ("0" if rec["CF_XDR_ZJHM"][17] != "0" else "1")
    elif error == "id_number":
        rec["CF_XDR_SHXYM"] = ""  # an organisation without its code (conditional_missing)
    elif error == "wsh":
        rec["CF_WSH"] = rec["CF_WSH"].replace("〔2025〕", "")
    else:
        rec["CF_YXQ"] = "2024-01-01"


def write(path: Path, rows: int, seed: int = 16) -> Path:
    """The CSV with the standard's Chinese names as headers, UTF-8, streamed."""
    rng = random.Random(seed)
    names = {f.code: f.name for f in standard.load("cf").fields}
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([names[c] for c in COLUMNS])
        for n in range(1, rows + 1):
            rec = record(n, rng)
            w.writerow([rec[c] for c in COLUMNS])
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    write(args.out, args.rows)
