"""全省排名 (a province's dashboard, ``sgs serve --province STORE``): the province's cities ranked as rolled up
(score, grade, rank, change), then one city's counties, one county's departments and one department's
findings — each read from that city's own partitions when it is opened (``dashboard.queries.province``).

Leaders and assessors of the province see every city; a city's credit office (a user whose users-file entry
names its ``city``) sees its own city only: the query layer refuses any other, whatever the page or the
address (``?city=…``) asked. The findings list is the 问题清单's (``_finding``: same columns, same masking)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.vocab import INDICATORS
from dashboard.auth import Viewer
from dashboard.queries import province
from dashboard.views import _finding
from dashboard.views._common import mask_names, rank_change, require, score_column, text_table

PERIOD_KEY = "province_period"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ALL = "（全部县区）"
ALL_PROVINCES = "（全部省份）"
NO_CITIES = ("存档页面和记录字段在该城市自己的文件夹中：本看板未指定城市文件夹，请用 sgs serve --province 存储 "
             "--cities 城市文件夹 启动（或在该城市的看板中查看）。")
NOT_SET = ("本看板没有配置全省数据存储：请用 sgs serve --province 存储（文件夹或 s3://…）启动，"
           "存储由 sgs score --cities 城市文件夹 --out 存储 或 sgs run --cities … --out 存储 生成（见 docs/scale.md）。")


def columns() -> dict:
    """The ranking tables' columns: totals to the cent, as the roll-up states them."""
    return {
        "排名": st.column_config.NumberColumn("排名", format="%d", width="small"),
        "全国排名": st.column_config.NumberColumn("全国排名", format="%d", width="small"),
        "省内排名": st.column_config.NumberColumn("省内排名", format="%d", width="small"),
        "总分": st.column_config.NumberColumn("总分", format="%.2f"),
        "较上期": st.column_config.NumberColumn("较上期", format="%+.2f", help="总分较上一期（同为月或季度）的变化"),
        "部门数": st.column_config.NumberColumn("部门数", format="%d", help="参加排名的部门"),
        "记录数": st.column_config.NumberColumn("记录数", format="%d"),
        **{label: score_column(label) for label in INDICATORS.values()},
    }


def ranking(frame: pd.DataFrame, name: str, label: str, nation: bool = False) -> pd.DataFrame:
    """A roll-up level as a table: rank, name, total, grade, change, then the sub-scores and counts; in a
    nation's store (``nation``) the rank is 全国排名, beside 省内排名 and the 省份."""
    table = pd.DataFrame({
        "排名": frame["rank"].astype("Int64"), label: frame[name], "总分": frame["total"], "等级": frame["grade"],
        "较上期": frame["change"], "排名变化": [rank_change(r, p) for r, p in zip(frame["rank"], frame["prev_rank"])],
        **{INDICATORS[i]: frame[i] for i in INDICATORS},
        "部门数": frame["n_departments"].astype("Int64"), "记录数": frame["n_records"].astype("Int64"),
    })
    if not nation:
        return table
    table.insert(1, "省内排名", frame["province_rank"].astype("Int64"))
    table.insert(3, "省份", frame["province"])
    return table.rename(columns={"排名": "全国排名"})


def pick(label: str, options: list[str], key: str, wanted: str | None = None) -> str:
    """A choice kept across runs; ``wanted`` (an address's ``?city=``) preselects it once it is new."""
    if wanted is not None and st.session_state.get(f"{key}_wanted") != wanted:
        st.session_state[f"{key}_wanted"] = st.session_state[key] = wanted
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0]
    return st.selectbox(label, options, key=key)


def city_view(where: str, version: str, period: str, city: str, province_name: str | None = None,
              nation: bool = False) -> None:
    """One city: its counties, a county's departments, a department's findings."""
    who = require("leader", "assessor")
    counties = province.counties(where, version, who, period, city)
    st.subheader(f"{city} · 县区排名")
    with st.container(key="province_counties"):
        table = ranking(counties, "county", "县区", nation).assign(市内排名=counties["city_rank"].astype("Int64"))
        st.dataframe(text_table(table), hide_index=True, column_config=columns())
    county = pick("县区", [ALL, *counties["county"].tolist()], "province_county")
    depts = province.departments(where, version, who, period, city, None if county == ALL else county)
    st.subheader(f"{city} · {'各县区' if county == ALL else county} · 部门得分")
    if depts.empty:
        st.info("该县区本期没有部门得分。")
        return
    with st.container(key="province_departments"):
        st.dataframe(text_table(pd.DataFrame({
            "排名": depts["rank"].astype("Int64"), "部门": depts["name"], "县区": depts["county"],
            "总分": depts["total"], "等级": depts["grade"], "较上期": depts["change"],
            **{INDICATORS[i]: depts[i] for i in INDICATORS}, "记录数": depts["n_records"].astype("Int64"),
        })), hide_index=True, column_config=columns())
    names = dict(zip(depts["dept_id"], depts["name"]))
    dept = st.selectbox("部门", list(names), format_func=names.__getitem__, key="province_dept")
    findings(where, version, period, city, dept, names[dept], province_name)


def findings(where: str, version: str, period: str, city: str, dept: str, name: str,
             province_name: str | None = None) -> None:
    """The department's findings as the 问题清单 lists them (status as scored when the store was written);
    a click on one (or the choice below the list) opens it in detail."""
    who = require("leader", "assessor")
    st.subheader(f"{name} · 问题清单")
    total = province.findings_total(where, version, who, period, city, dept)
    st.caption(f"共 {total} 条问题（状态为该城市评分时的状态；整改和异议的处理在该城市的看板中进行）")
    if total == 0:
        st.info("该部门本期没有问题。")
        return
    offset = _finding.pager(total, "province_page")
    df = province.findings(where, version, who, period, city, dept, offset=offset, mask_names=mask_names())
    with st.container(key="province_findings"):
        clicked = _finding.show_table(_finding.findings_table(df, with_department=True), "province_findings")
    finding = _finding.choose(df, "province_finding", clicked)
    if finding is not None:
        detail(who, city, province_name, finding)


def detail(who: Viewer, city: str, province_name: str | None, finding: dict) -> None:
    """One finding as the city's own 问题清单 shows it in detail — the record's fields, the message, the page
    URL and the archived page as fetched — read from the city's own snapshot and archive (``--cities``);
    no 查看原值 here (originals stay with the city's assessors). Without the cities' folders: what the store
    holds (the message and the URL), and how to get the rest."""
    snapshot = province.city_snapshot(who, city, province_name)
    with st.container(key="province_finding_detail", border=True):
        if snapshot is not None:
            _finding.detail(snapshot, finding, can_reveal=False)
            return
        st.markdown(f"**{finding['rule_name']}**（{INDICATORS.get(finding['indicator'], finding['indicator'])}）")
        st.text(finding["message"] or "")
        if finding.get("url"):
            st.code(finding["url"], language=None)  # crawled text: never through markdown
        st.info(NO_CITIES)


def province_of(cities: pd.DataFrame, city: str) -> str | None:
    """The city's province as rolled up (None in a province's own store, or for a city not offered)."""
    if "province" not in cities.columns:
        return None
    found = cities.loc[cities["city"] == city, "province"]
    return found.iloc[0] if not found.empty and isinstance(found.iloc[0], str) else None


def main() -> None:
    who = require("leader", "assessor")
    where = province.store()
    if where is None:
        st.title("全省排名")
        st.info(NOT_SET)
        return
    version = province.stamp(where)
    periods = province.periods(where, version)
    if not periods:
        st.title("全省排名")
        st.info(f"全省数据存储 {where.split('?')[0]} 中还没有汇总排名：请先运行 sgs score --cities … --out …。")
        return
    level = province.level(where, version, periods[0])  # the page is named once, for the latest period
    st.title(f"{level}排名")
    period = pick("评估期", periods, PERIOD_KEY)
    nation = province.level(where, version, period) == province.NATION
    cities = every = province.cities(where, version, who, period)
    if who.city is not None:
        st.caption(f"本账号为{who.city}账号：只显示本市的数据。")
    elif nation:  # one province's cities, still with their national rank beside the province's
        chosen = st.selectbox("省份", [ALL_PROVINCES, *sorted(set(cities["province"].dropna()))], key="province_province")
        if chosen != ALL_PROVINCES:
            cities = cities[cities["province"] == chosen].sort_values(["province_rank", "city"]).reset_index(drop=True)
    st.subheader(f"{period} · 城市排名")
    with st.container(key="province_cities"):
        st.dataframe(text_table(ranking(cities, "city", "城市", nation)), hide_index=True, column_config=columns())
    if who.city is None:  # the report ranks every city: a city's user gets none (it shows cities they may not see)
        whole = province.NATION if nation else province.PROVINCE
        st.download_button(f"下载{whole}评估报告（Word）", lambda: province.report(where, who, period),
                           file_name=f"{whole}双公示工作评估报告（{period}）.docx",
                           key="download_province_report", mime=DOCX)
    if cities.empty:
        st.info("本期汇总中没有本账号可查看的城市。")
        return
    wanted = st.query_params.get("city")  # a deep link; a city not offered is asked for as it is (and refused)
    names = cities["city"].tolist()
    city = wanted if wanted is not None and wanted not in names else pick("城市", names, "province_city", wanted)
    try:
        city_view(where, version, period, city, province_of(every, city), nation)
    except province.CityRefused as exc:
        st.error(str(exc))

main()
