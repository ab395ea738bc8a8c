"""Malformed city files: every one is a Chinese message naming the file and the key, exit code 2, no traceback.

The files are generated here from one valid city (every paging shape, a title list, labels, an encoding) by
breaking one thing each: types, unknown keys at every level (inside ``paging`` and ``rows`` too), allowed
values, ranges, URLs, regular expressions, encodings, duplicate ids, missing keys, department references,
and files that are not TOML at all. They run through the real command (``sgs crawl``), which must stop
before opening the database.
"""
from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w
from typer.testing import CliRunner

from core.cityconfig import ConfigError, load_city
from sgs.cli import app
from core.settings import REPO_ROOT

runner = CliRunner()
CJK = re.compile(r"[\u4e00-\u9fff]")

VALID = {
    "city": {"name": "示范市"},
    "departments": [
        {"id": "sthjj", "name": "示范市生态环境局", "county": "市本级", "credit_code": "11140400MB1234567X",
         "website": "https://sthjj.example.gov.cn/", "column_url": "https://sthjj.example.gov.cn/sgs/",
         "liaison": "张三", "liaison_phone": "0355-1234567",
         "catalogue": [{"code": "CF-001", "kind": "cf", "name": "对违反排污许可制度行为的处罚", "basis": "《排污许可管理条例》"},
                       {"code": "XK-001", "kind": "xk", "name": "排污许可"}]},
        {"id": "wjw", "name": "示范市卫生健康委员会", "county": "城区"},
    ],
    "sources": [
        {"id": "sthjj-cf", "channel": "site", "kind": "cf", "dept": "sthjj",
         "start_url": "https://sthjj.example.gov.cn/sgs/cf/list?page=1", "paging": {"style": "query", "param": "page"},
         "concurrency": 2, "delay": 1.0, "max_pages": 500},
        {"id": "wjw-xk", "channel": "site", "kind": "xk", "dept": "wjw",
         "start_url": "https://wjw.example.gov.cn/zwgk/sgs/xzxk/index.html", "paging": {"style": "trs"}},
        {"id": "wjw-cf", "channel": "site", "kind": "cf", "dept": "wjw", "start_url": "https://wjw.example.gov.cn/search.do",
         "paging": {"style": "post", "param": "pageNo", "form": {"pageSize": "10", "type": "cf"}}},
        {"id": "sthjj-xk", "channel": "site", "kind": "xk", "dept": "sthjj",
         "start_url": "http://sthjj.example.gov.cn/sgs/xk/list.jsp", "paging": {"style": "next_link"},
         "rows": {"links": r"/art/\d+\.html$"}, "labels": {"许可编号": "XK_WSH"}, "encoding": "gb18030",
         "robots": True},
        {"id": "portal-cf", "channel": "portal", "kind": "cf", "start_url": "https://credit.example.gov.cn/api/cf",
         "paging": {"style": "json", "page_param": "page", "size_param": "pageSize", "size": 50,
                    "total_path": "data.total", "list_path": "data.list", "entity_key": "entity"}},
    ],
}


def _set(path: str, value: object):
    """A mutation: set the value at a dotted path (``sources.0.paging.style``); ``...`` deletes it."""
    def mutate(doc: dict) -> None:
        *head, last = path.split(".")
        node = doc
        for step in head:
            node = node[int(step)] if step.isdigit() else node[step]
        key = int(last) if last.isdigit() else last
        if value is ...:
            del node[key]
        else:
            node[key] = value
    return mutate


def _append(path: str, item: object):
    def mutate(doc: dict) -> None:
        node = doc
        for step in path.split("."):
            node = node[int(step)] if step.isdigit() else node[step]
        node.append(copy.deepcopy(item))
    return mutate


# (case, mutation of the valid document, text the message must contain: the key path)
CASES = [
    ("unknown top-level key", _set("citty", {"name": "x"}), "citty"),
    ("unknown department key", _set("departments.0.nmae", "x"), "departments[1].nmae"),
    ("unknown catalogue key", _set("departments.0.catalogue.0.bsis", "x"), "departments[1].catalogue[1].bsis"),
    ("unknown source key", _set("sources.0.pagin", {"style": "query"}), "sources[1].pagin"),
    ("unknown paging key", _set("sources.0.paging.parm", "page"), "sources[1].paging.parm"),
    ("unknown rows key", _set("sources.3.rows", {"link": "/art/"}), "sources[4].rows.link"),
    ("rows without links", _set("sources.3.rows", {}), "sources[4].rows.links"),
    ("unknown city key", _set("city.nmae", "x"), "city.nmae"),
    ("wrong paging style", _set("sources.0.paging.style", "infinite"), "sources[1].paging.style"),
    ("paging style not text", _set("sources.0.paging.style", 3), "sources[1].paging.style"),
    ("paging not a table", _set("sources.0.paging", "query"), "sources[1].paging"),
    ("paging without style keeps query keys", _set("sources.0.paging", {"param": "page"}), "sources[1].paging.param"),
    ("json paging with query keys", _set("sources.4.paging.param", "page"), "sources[5].paging.param"),
    ("json paging size as text", _set("sources.4.paging.size", "50"), "sources[5].paging.size"),
    ("json paging size zero", _set("sources.4.paging.size", 0), "sources[5].paging.size"),
    ("json list path malformed", _set("sources.4.paging.list_path", "data..list"), "sources[5].paging.list_path"),
    ("json entity key not text", _set("sources.4.paging.entity_key", 1), "sources[5].paging.entity_key"),
    ("post form value not scalar", _set("sources.2.paging.form.pageSize", True), "sources[3].paging.form.pageSize"),
    ("bad regular expression", _set("sources.3.rows.links", "(["), "sources[4].rows.links"),
    ("empty regular expression", _set("sources.3.rows.links", ""), "sources[4].rows.links"),
    ("links not text", _set("sources.3.rows.links", ["/a/"]), "sources[4].rows.links"),
    ("unknown encoding", _set("sources.3.encoding", "gb9999"), "sources[4].encoding"),
    ("not a text encoding", _set("sources.3.encoding", "hex"), "sources[4].encoding"),
    ("label to an unknown code", _set("sources.3.labels.许可编号", "XK_NOPE"), "sources[4].labels.\"许可编号\""),
    ("label value not text", _set("sources.3.labels.许可编号", 12), "sources[4].labels.\"许可编号\""),
    ("duplicate department id", _set("departments.1.id", "sthjj"), "departments[2].id"),
    ("duplicate source id", _set("sources.1.id", "sthjj-cf"), "sources[2].id"),
    ("duplicate catalogue code", _set("departments.0.catalogue.1.code", "CF-001"), "departments[1].catalogue[2].code"),
    ("missing source start_url", _set("sources.0.start_url", ...), "sources[1].start_url"),
    ("missing department id", _set("departments.1.id", ...), "departments[2].id"),
    ("missing catalogue kind", _set("departments.0.catalogue.0.kind", ...), "departments[1].catalogue[1].kind"),
    ("site source without dept", _set("sources.0.dept", ...), "sources[1].dept"),
    ("dept that does not exist", _set("sources.1.dept", "nope"), "sources[2].dept"),
    ("wrong channel", _set("sources.0.channel", "web"), "sources[1].channel"),
    ("wrong kind", _set("sources.0.kind", "xx"), "sources[1].kind"),
    ("catalogue kind wrong", _set("departments.0.catalogue.0.kind", "处罚"), "departments[1].catalogue[1].kind"),
    ("id with spaces", _set("sources.0.id", "sthjj cf"), "sources[1].id"),
    ("ftp start url", _set("sources.0.start_url", "ftp://sthjj.example.gov.cn/list"), "sources[1].start_url"),
    ("start url without host", _set("sources.0.start_url", "http:///sgs/list"), "sources[1].start_url"),
    ("start url relative", _set("sources.0.start_url", "/sgs/list"), "sources[1].start_url"),
    ("start url bad port", _set("sources.0.start_url", "http://h.example:99999/"), "sources[1].start_url"),
    ("start url broken IPv6", _set("sources.0.start_url", "http://[::1/"), "sources[1].start_url"),
    ("website not a URL", _set("departments.0.website", "www.example.gov.cn"), "departments[1].website"),
    ("concurrency zero", _set("sources.0.concurrency", 0), "sources[1].concurrency"),
    ("concurrency negative", _set("sources.0.concurrency", -3), "sources[1].concurrency"),
    ("concurrency huge", _set("sources.0.concurrency", 10 ** 18), "sources[1].concurrency"),
    ("concurrency as text", _set("sources.0.concurrency", "2"), "sources[1].concurrency"),
    ("concurrency as boolean", _set("sources.0.concurrency", True), "sources[1].concurrency"),
    ("delay negative", _set("sources.0.delay", -1.0), "sources[1].delay"),
    ("delay infinite", _set("sources.0.delay", float("inf")), "sources[1].delay"),
    ("delay not a number", _set("sources.0.delay", float("nan")), "sources[1].delay"),
    ("max_pages zero", _set("sources.0.max_pages", 0), "sources[1].max_pages"),
    ("max_pages fractional", _set("sources.0.max_pages", 1.5), "sources[1].max_pages"),
    ("max_pages huge", _set("sources.0.max_pages", 2 ** 62), "sources[1].max_pages"),
    ("robots as text", _set("sources.3.robots", "yes"), "sources[4].robots"),
    ("departments not an array", _set("departments", "sthjj"), "departments"),
    ("department not a table", _append("departments", "wjw"), "departments[3]"),
    ("sources as one table", _set("sources", {"id": "x"}), "sources"),
    ("city name not text", _set("city.name", 12), "city.name"),
    ("a date where a URL goes", _set("sources.0.start_url", __import__("datetime").date(2026, 1, 5)), "sources[1].start_url"),
    ("no sources", _set("sources", ...), "sources"),
]

RAW_CASES = [  # files that are not a TOML document of a city
    ("empty file", b"", "sources"),
    ("not TOML", b"[city]\nname = \xe7\xa4\xba\xe8\x8c\x83\xe5\xb8\x82\n", "TOML"),
    ("binary", bytes(range(256)) * 4, "UTF-8"),
    ("zip file", b"PK\x03\x04" + b"\x00" * 40, "TOML"),
    ("duplicate TOML key", b'[city]\nname = "a"\nname = "b"\n', "TOML"),
    ("unclosed table", b'[[sources]\nid = "x"\n', "TOML"),
]


def _crawl(config: Path, db: Path):
    return runner.invoke(app, ["crawl", "--quiet", "--config", str(config), "--db", str(db)])


def _assert_refused(result, config: Path, db: Path, key: str) -> None:
    text = result.output
    assert result.exit_code == 2, text
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in text
    assert CJK.search(text) and key in text and str(config) in text, text
    assert not db.exists()  # refused before the database was opened


def test_the_valid_city_loads(tmp_path):
    path = tmp_path / "city.toml"
    path.write_text(tomli_w.dumps(VALID), encoding="utf-8")
    city = load_city(path)
    assert [s.id for s in city.sources] == [s["id"] for s in VALID["sources"]]
    assert city.departments[0].catalogue[1].code == "XK-001"


@pytest.mark.parametrize("case,mutate,key", CASES, ids=[c[0] for c in CASES])
def test_a_malformed_city_file_is_a_message_naming_the_key(tmp_path, case, mutate, key):
    doc = copy.deepcopy(VALID)
    mutate(doc)
    config, db = tmp_path / "city.toml", tmp_path / "sgs.duckdb"
    config.write_text(tomli_w.dumps(doc), encoding="utf-8")
    _assert_refused(_crawl(config, db), config, db, key)


@pytest.mark.parametrize("case,content,key", RAW_CASES, ids=[c[0] for c in RAW_CASES])
def test_a_file_that_is_not_a_city_is_a_message(tmp_path, case, content, key):
    config, db = tmp_path / "city.toml", tmp_path / "sgs.duckdb"
    config.write_bytes(content)
    _assert_refused(_crawl(config, db), config, db, key)


def test_a_missing_or_unreadable_path_is_a_message(tmp_path):
    db = tmp_path / "sgs.duckdb"
    _assert_refused(_crawl(tmp_path / "nope.toml", db), tmp_path / "nope.toml", db, "--config")
    folder = _crawl(tmp_path, db)  # a folder is a province's cities: --db does not apply, said before anything
    assert folder.exit_code == 2 and "--db 只用于单个城市" in folder.output and not db.exists()


def test_every_problem_is_reported_at_once(tmp_path):
    doc = copy.deepcopy(VALID)
    for mutate in (_set("sources.0.paging.style", "x"), _set("sources.3.rows.links", "(["),
                   _set("sources.1.dept", "nope"), _set("departments.0.catalogue.1.code", "CF-001"),
                   _set("sources.4.concurrency", 0)):
        mutate(doc)
    config = tmp_path / "city.toml"
    config.write_text(tomli_w.dumps(doc), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_city(config)
    keys = ["sources[1].paging.style", "sources[4].rows.links", "sources[2].dept", "departments[1].catalogue[2].code",
            "sources[5].concurrency"]
    assert len(caught.value.problems) == len(keys)
    for key in keys:
        assert sum(line.startswith(f"{config}：{key}：") for line in caught.value.problems) == 1, key


@pytest.mark.parametrize("case", ["bad regular expression", "concurrency zero", "unknown paging key"])
def test_the_installed_command_exits_2_without_a_traceback(tmp_path, case):
    """The real process, as cron runs it: exit code 2 and one message on stderr."""
    _, mutate, key = next(c for c in CASES if c[0] == case)
    doc = copy.deepcopy(VALID)
    mutate(doc)
    config = tmp_path / "city.toml"
    config.write_text(tomli_w.dumps(doc), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run([sys.executable, "-m", "sgs.cli", "crawl", "-q", "--config", str(config),
                           "--db", str(tmp_path / "sgs.duckdb")], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and key in proc.stderr and "错误" in proc.stderr
    assert not (tmp_path / "sgs.duckdb").exists()


def test_the_demo_city_is_valid(tmp_path):
    from democity import build, write_city

    load_city(write_city(build(2026), "http://127.0.0.1:1", tmp_path))
