"""The quarterly assessment report to the city leadership (.docx), in the usual shape: title and issuing
office; 一、总体情况; 二、评估结果 (rankings with each department's 未能核验 count, the departments not ranked
with their standing and why, what 未能核验 means, charts); 三、存在的主要问题 (with typical examples);
四、整改要求 (the deadline); 附件 (each department's problems by type)."""
from __future__ import annotations

from datetime import date
from typing import Any

from docx.enum.text import WD_ALIGN_PARAGRAPH

from core.vocab import INDICATORS, RANKED, STANDINGS
from metrics.results import UNVERIFIED_NOTE, is_missing, standing_note
from metrics.scheme import Scheme
from reports import charts
from reports.data import PeriodData
from reports.docx_kit import new_document, orientation, paragraph, picture, signature, table, text, to_bytes
from reports.revision import changes_section, deadline_words, overdue_sentence, version_line

# one convention for sub-scores, stated wherever they are printed
SCALE_NOTE = "及时性、完整性、准确性、合规性各列为该指标的得分率（实得分占该指标满分的百分比，满分 100），总分满分 100 分；"
RANK_HEADERS = ["排名", "部门", "县区", "记录数", "未能核验", *INDICATORS.values(), "总分", "等级", "较上期"]
UNRANKED_HEADERS = ["部门", "县区", "记录数", "未能核验", "排名情况", "说明"]
COUNTY_HEADERS = ["排名", "县区", "部门数", "记录数", *INDICATORS.values(), "总分", "等级", "较上期"]
CITY_LEVEL = "市本级"  # the city's own departments, ranked as one group beside the counties
EXAMPLES_PER_PROBLEM = 3
TYPICAL_PROBLEMS = 5


def _change(value: Any) -> str:
    return "—" if is_missing(value) else f"{value:+.2f}"


def _num(value: Any, spec: str = ".2f") -> str:
    return "—" if is_missing(value) else f"{value:{spec}}"


def build(data: PeriodData, scheme: Scheme, report_date: date, due: date) -> bytes:
    """The report as .docx bytes."""
    title = f"{data.title_period}双公示工作评估报告"
    doc = new_document(title, scheme.office, data.computed_at)
    doc.add_paragraph(title, style="Title")
    doc.add_paragraph(scheme.office, style="Subtitle")
    version_line(doc, data)
    paragraph(doc, f"评估期间：{data.period.start:%Y年%m月%d日}至{data.period.end:%Y年%m月%d日}（{data.period.label}）；"
                   f"评分方案：{data.scheme_version}；数据截止：{data.cutoff:%Y-%m-%d %H:%M}（评分时最后一次抓取存档的时间）；"
                   f"评分时间：{data.computed_at:%Y-%m-%d %H:%M}。", indent=False)
    changes_section(doc, data, None)
    _overview(doc, data, scheme)
    _results(doc, data, scheme)
    _problems(doc, data)
    _requirements(doc, data, scheme, report_date, due)
    signature(doc, scheme.office, report_date)
    _annex(doc, data)
    return to_bytes(doc)


def _overview(doc, data: PeriodData, scheme: Scheme) -> None:
    h = data.headline
    doc.add_heading("一、总体情况", level=1)
    weights = "、".join(f"{scheme.names[i]}{scheme.weights[i]:g}分" for i in INDICATORS)
    counties = [c for c in data.counties["county"] if c != CITY_LEVEL]
    where = f"{len(counties)}个县区" + ("及市本级" if len(counties) < len(data.counties) else "")
    paragraph(doc, f"本期评估覆盖{where}的{h['n_departments']}个部门，以各部门网站“双公示”专栏"
                   f"在{data.period.start:%Y年%m月%d日}至{data.period.end:%Y年%m月%d日}期间作出决定的{h['n_records']:,}条"
                   f"行政许可和行政处罚信息为评估对象，并与信用网站公示信息、部门办件台账比对。")
    paragraph(doc, f"评估按评分方案 {data.scheme_version} 进行：设{weights}四项指标，各部门以100分为基础，"
                   "逐条规则按问题记录所占比例或按条扣分，总分＝100－各项扣分之和；各项扣分及其依据的每条问题均可追溯至"
                   "抓取存档的原始网页。")
    avg = f"全市参加排名部门平均得分{_num(h.get('avg_total'))}分"
    if h.get("prev_avg_total") is not None:
        avg += f"，较上期{_change(h['avg_total'] - h['prev_avg_total'])}分"
    found = f"共发现问题{h['n_findings']:,}个"
    if h.get("prev_n_findings"):
        found += f"（上期{h['prev_n_findings']:,}个）"
    grades = data.ranking["grade"].value_counts()
    by_grade = "，".join(f"{g}{int(grades.get(g, 0))}个" for g, _ in scheme.grades)
    rates = "，".join(f"{name}{_num(h.get(i), '.1f')}%" for i, name in INDICATORS.items())
    paragraph(doc, f"{avg}；{found}。等级分布：{by_grade}{_not_ranked(h)}。按记录数加权，{rates}。"
                   + ("平均得分和以上比率只计参加排名的部门。" if _n(h, "n_ranked") < _n(h, "n_departments") else ""))


def _n(h: dict, key: str) -> int:
    return int(h.get(key) or 0)


def _not_ranked(h: dict) -> str:
    """"；另有…个部门不参加排名（…）" when some are not ranked, else ""."""
    parts = [f"本期无公示记录{_n(h, 'n_no_records')}个" if _n(h, "n_no_records") else "",
             f"证据不足{_n(h, 'n_insufficient')}个" if _n(h, "n_insufficient") else ""]
    parts = [x for x in parts if x]
    if not parts:
        return ""
    return f"；另有{_n(h, 'n_no_records') + _n(h, 'n_insufficient')}个部门不参加排名、不评等级（{'，'.join(parts)}）"


def _results(doc, data: PeriodData, scheme: Scheme) -> None:
    orientation(doc, landscape=True)  # the ranking tables: every figure whole in its column
    doc.add_heading("二、评估结果", level=1)
    doc.add_heading("（一）部门排名", level=2)
    r = data.ranking
    ranked, unranked = r[r["standing"] == RANKED], r[r["standing"] != RANKED]
    n_unverified = int(r["n_unverified"].fillna(0).sum())
    paragraph(doc, f"本期参加排名的部门{len(ranked)}个，按总分排列如下；{SCALE_NOTE}“未能核验”列为该部门公示及时性"
                   f"未能核验的记录数（不扣分）" + (f"，全市共{n_unverified:,}条" if n_unverified else "，本期没有") + "。")
    table(doc, RANK_HEADERS,
          ([_num(x.rank, "d"), x.name, x.county, f"{x.n_records:,}", f"{x.n_unverified:,}",
            *(_num(getattr(x, i)) for i in INDICATORS), _num(x.total), x.grade, _change(x.change)]
           for x in ranked.itertuples()),
          [11, 46, 17, 15, 17, 18, 18, 18, 18, 18, 15, 18], right=(0, 3, 4, 5, 6, 7, 8, 9, 11))
    if not unranked.empty:
        paragraph(doc, f"以下{len(unranked)}个部门本期不参加排名、不评等级，其得分不与其他部门比较：")
        table(doc, UNRANKED_HEADERS,
              ([x.name, x.county, f"{x.n_records:,}", f"{x.n_unverified:,}", x.standing_name,
                standing_note(x.standing, scheme.max_unverified_share)] for x in unranked.itertuples()),
              [46, 17, 15, 17, 24, 110], right=(2, 3))
    if n_unverified or not unranked.empty:
        _evidence_note(doc, unranked, scheme)
    doc.add_heading("（二）县区排名", level=2)
    paragraph(doc, "县区得分为其所属参加排名部门得分的平均值，市本级部门作为一组参与排名。")
    table(doc, COUNTY_HEADERS,
          ([_num(x.rank, "d"), x.county, x.n_departments, f"{x.n_records:,}",
            *(_num(getattr(x, i)) for i in INDICATORS), _num(x.total), x.grade, _change(x.change)]
           for x in data.counties.itertuples()),
          [11, 24, 15, 17, 18, 18, 18, 18, 18, 15, 18], right=(0, 2, 3, 4, 5, 6, 7, 8, 10))
    orientation(doc, landscape=False)
    doc.add_heading("（三）图表", level=2)
    picture(doc, charts.grade_distribution(ranked, [g for g, _ in scheme.grades]), "图1  参加排名部门总分分布（按等级）")
    if not data.counties.empty:
        picture(doc, charts.county_comparison(data.counties), "图2  县区得分对比")
    if not data.problems.empty:
        picture(doc, charts.problem_types(data.problems), "图3  主要问题类型（问题数）")


def _evidence_note(doc, unranked, scheme: Scheme) -> None:
    """What 未能核验 and the standings mean, in plain words (only when the period has any)."""
    paragraph(doc, f"关于“未能核验”和“证据不足”：{UNVERIFIED_NOTE}"
                   f"一个部门的评估记录中未能核验的比例超过评分方案规定的上限（{scheme.max_unverified_share:.0%}）时，"
                   "评估结论为“证据不足”，该部门不排名、不评等级；没有任何评估记录的部门为“本期无公示记录”。"
                   "各部门未能核验的记录逐条列入其整改通知书（待核实）和评估工作簿。")


def _problems(doc, data: PeriodData) -> None:
    doc.add_heading("三、存在的主要问题", level=1)
    p = data.problems
    if p.empty:
        paragraph(doc, "本期未发现问题。" + (f"（{int(data.headline['n_waived']):,}个问题经认定已豁免，不扣分。）"
                                        if data.headline.get("n_waived") else ""))
        return
    waived = int(data.headline.get("n_waived") or 0)
    paragraph(doc, f"本期共发现问题{int(p['n_findings'].sum()):,}个，涉及{len(p)}类"
                   + (f"（另有{waived:,}个问题经认定已豁免，不扣分、不计入问题数，逐条列于附件和评估工作簿“已豁免”表）"
                      if waived else "") + "。问题最多的类型如下：")
    table(doc, ["序号", "问题类型", "指标", "问题数", "涉及部门数"],
          ([n, x.rule_name, x.indicator_name, f"{x.n_findings:,}", x.n_departments]
           for n, x in enumerate(p.head(10).itertuples(), 1)), [12, 60, 22, 26, 26], right=(0, 3, 4))
    names = {d: e["name"] for d, e in data.explained.items()}
    for n, x in enumerate(p.head(TYPICAL_PROBLEMS).itertuples(), 1):
        doc.add_heading(f"（{'一二三四五六七八九十'[n - 1]}）{x.rule_name}", level=2)
        paragraph(doc, f"共{x.n_findings:,}个，涉及{x.n_departments}个部门。典型问题：")
        for dept, f in _examples(data, str(x.rule_id)):
            where = f"文书号 {f['wsh']}" if f["wsh"] else "部门层面"
            paragraph(doc, f"{names.get(dept, dept)}，{where}：{f['message']}")


def _examples(data: PeriodData, rule_id: str) -> list[tuple[str, dict]]:
    """A few typical findings of a rule: the first of each of the lowest-ranked departments that have one."""
    picked: list[tuple[str, dict]] = []
    for dept in reversed(list(data.explained)):
        for d in data.explained[dept]["deductions"]:
            if d["rule_id"] == rule_id and d["findings"]:
                picked.append((dept, d["findings"][0]))
        if len(picked) >= EXAMPLES_PER_PROBLEM:
            break
    return picked


def _requirements(doc, data: PeriodData, scheme: Scheme, report_date: date, due: date) -> None:
    doc.add_heading("四、整改要求", level=1)
    paragraph(doc, "各部门应对照本报告附件和本部门整改通知书所列问题逐条整改，"
                   f"{deadline_words(data, scheme, report_date, due, '报告印发之日起')}完成，"
                   f"并将整改情况书面报送{scheme.office}。")
    if late := overdue_sentence(data, None, due):
        paragraph(doc, late + "各部门逾期未整改的问题数如下：")
        names = {d: e["name"] for d, e in data.explained.items()}
        table(doc, ["部门", "逾期未整改问题数"], ([names.get(d, d), f"{n:,}"] for d, n in sorted(
            data.overdue.items(), key=lambda x: (-x[1], names.get(x[0], x[0])))), [90, 40], right=(1,))
    failing = data.ranking[data.ranking["grade"] == scheme.grades[-1][0]]
    if not failing.empty:
        paragraph(doc, f"评估等级为“{scheme.grades[-1][0]}”的{len(failing)}个部门（"
                       f"{'、'.join(failing['name'].tolist())}）应作为整改重点，主要负责同志应亲自督办。")
    paragraph(doc, "整改中应注意：行政许可、行政处罚决定应自作出之日起7个工作日内在本部门网站公示并推送至信用网站；"
                   "公示内容应符合国家“双公示”数据标准；公示自然人信息时应对身份证号码等个人信息进行脱敏处理；"
                   "超过公示期限的处罚信息应及时撤下。")
    if int(data.ranking["n_unverified"].fillna(0).sum()):
        paragraph(doc, "对整改通知书中列为“待核实”（未能核验）的记录，各部门应核实其实际公示日期，能够证明按时公示的"
                       "（如网站后台发布记录）请一并报送；今后公示时应在页面上标明公示日期。")


def _annex(doc, data: PeriodData) -> None:
    doc.add_page_break()
    doc.add_heading("附件：各部门问题清单", level=1)
    paragraph(doc, "按部门排名顺序列出各部门本期的问题类型、数量和扣分；每条问题的文书号、页面和存档证据见各部门整改通知书"
                   "及评估工作簿。", indent=False)
    for dept, e in data.explained.items():
        rows = [(d["indicator_name"], d["rule_name"], len(d["findings"]), f"{d['points']:.2f}")
                for d in e["deductions"]]
        unverified = f"  未能核验{e['n_unverified']}条" if e.get("n_unverified") else ""
        if (e.get("standing") or RANKED) == RANKED:
            title = f"{text(e['rank'])}. {e['name']}（{e['county']}） 总分 {e['total']:.2f}  {e['grade']}{unverified}"
        else:
            title = f"{e['name']}（{e['county']}） 不参加排名：{STANDINGS.get(e['standing'], e['standing'])}{unverified}"
        heading = doc.add_heading(title, level=3)
        heading.alignment = WD_ALIGN_PARAGRAPH.LEFT
        if rows:
            table(doc, ["指标", "问题类型", "问题数", "扣分"], rows, [24, 80, 26, 26], right=(2, 3))
        else:
            paragraph(doc, "本期未发现问题。", indent=False)
        for f in data.waived_of(dept):
            paragraph(doc, f"已豁免（不扣分）：{f['rule_name']}，{f['wsh'] or '部门层面'}，{f['message']}；"
                           f"理由：{f['reason'] or '（未记录）'}；决定人：{f['decided_by'] or '（未记录）'}。", indent=False)
