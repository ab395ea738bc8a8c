"""Who may see what: the users file, the login, the open demo mode, and department isolation — enforced in
the query layer (tested directly, with another department's ids) and through the app (AppTest: widgets,
query parameters and page switches pointing at another department)."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from dashboard import auth, queries, workbench
from dashboard.queries import (catalogue, department, evidence, findings, overview, shared, sources,
                               subjects)
from dashboard_city import app, city_for_app, login, run, shows_data, table, write_test_users
from core.settings import Paths

pytestmark = pytest.mark.usefixtures("fresh_caches")

SCJ = auth.Viewer("scj", "scj", "department", "d_scj")
JTJ = auth.Viewer("jtj", "jtj", "department", "d_jtj")
BOSS = auth.Viewer("boss", "boss", "leader")
JUDGE = auth.Viewer("judge", "judge", "assessor")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory):
    with city_for_app(tmp_path_factory.mktemp("access")) as paths:
        yield paths


# --- passwords and the users file ----------------------------------------------------------------

def test_passwords_are_hashed_and_verified(tmp_path) -> None:
    hashed = auth.hash_password("秘密-pw")
    assert hashed.startswith("scrypt$") and "秘密" not in hashed
    assert auth.verify_password("秘密-pw", hashed)
    assert not auth.verify_password("秘密-PW", hashed)
    assert auth.hash_password("秘密-pw") != hashed  # salted
    path = write_test_users(tmp_path / "users.toml")
    text = path.read_text("utf-8")
    assert "boss-pw" not in text and "scrypt$" in text
    users, _ = auth.load_users(path)
    assert auth.authenticate(users, "scj", "scj-pw") == auth.Viewer("scj", "scj 用户", "department", "d_scj")
    assert auth.authenticate(users, "scj", "scj-pw").scope == "d_scj"
    assert auth.authenticate(users, "boss", "boss-pw").scope is None
    assert auth.authenticate(users, "boss", "wrong") is None
    assert auth.authenticate(users, "nobody", "boss-pw") is None


@pytest.mark.parametrize("entry, complaint", [
    ('[users.a]\nrole = "leader"\npassword_hash = "plain-text"\n', "scrypt"),
    ('[users.a]\nrole = "king"\npassword_hash = "scrypt$1$1$1$x$y"\n', "role"),
    ('[users.a]\nrole = "department"\npassword_hash = "scrypt$1$1$1$x$y"\n', "dept_id"),
    ('[users.a\n', "格式错误"),
])
def test_bad_users_file_is_explained(tmp_path, entry: str, complaint: str) -> None:
    path = tmp_path / "users.toml"
    path.write_text(entry, "utf-8")
    with pytest.raises(auth.UsersError, match=complaint) as err:
        auth.load_users(path)
    assert str(path) in str(err.value)


def test_no_access_without_login(city: Paths) -> None:
    at = run(app())
    assert at.text_input(key="login_password").proto.type == at.text_input(key="login_password").proto.PASSWORD
    assert not shows_data(at) and not at.sidebar.selectbox
    at.text_input(key="login_user").input("boss")
    at.text_input(key="login_password").input("not-the-password")
    at.button[0].click()
    run(at)
    assert any("用户名或密码错误" in e.value for e in at.error)
    assert not shows_data(at)


def test_missing_users_file_is_explained(city: Paths, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SGS_USERS", str(tmp_path / "none.toml"))
    at = run(app())
    assert any("none.toml" in e.value for e in at.error)
    assert not shows_data(at)


def test_open_demo_mode_needs_no_login_and_stays_masked(city: Paths, monkeypatch) -> None:
    monkeypatch.setenv("SGS_OPEN_DEMO", "1")
    at = run(app())
    assert table(at, "dept_ranking")["部门"].tolist()[-1] == "市发展和改革委员会"  # the best, last: weakest first
    assert any("开放演示模式" in c.value for c in at.sidebar.caption)
    at.switch_page("dashboard/views/findings.py")
    run(at)
    assert table(at, "findings")["文书号/页面"].notna().any()
    assert not [b for b in at.button if b.label == "提交"]  # a leader's view: no decisions
    assert not [b for b in at.button if b.key == "reveal_button"]  # and no reveal


def test_logout(city: Paths) -> None:
    at = login(app(), "boss")
    at.sidebar.button(key="logout").click()
    run(at)
    assert at.text_input(key="login_user") is not None and not shows_data(at)


# --- the query layer: a department viewer asking for another department gets nothing ---------------

def test_every_query_takes_the_viewer() -> None:
    """Every query about departments' data has a viewer parameter (only the snapshot-wide ones do not)."""
    global_ones = {"snapshot_name", "periods", "data_time", "period_sort_key", "previous_period", "field_name",
                   "shown_value", "maskable",
                   # the correction loop's rules and the period's deadline: no department's data
                   "allowed_actions", "deadline", "workdays_left",
                   "credit_office",  # the scheme's credit office id
                   "store",  # where a province's store is (dashboard.queries.province): no city's data
                   "close_snapshots",  # the snapshots this process keeps open: no data
                   "load_record_keys",  # the warm-up's read of the key index: returns nothing
                   "title"}  # the province page's name, 全省排名 or 全国排名: no city's data
    modules = [importlib.import_module(f"dashboard.queries.{m.name}") for m in pkgutil.iter_modules(queries.__path__)]
    assert len(modules) >= 9  # one module per page, and the shared one
    for module in modules:
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_") or name in global_ones:
                continue
            assert "viewer" in inspect.signature(fn).parameters, name


def test_query_layer_isolates_departments(city: Paths) -> None:
    snap = shared.snapshot_name()
    p = "2026Q3"
    assert department.departments(snap, SCJ)["dept_id"].tolist() == ["d_scj"]
    assert len(department.departments(snap, BOSS)) == 6
    assert overview.department_ranking(snap, SCJ, p)["dept_id"].tolist() == ["d_scj"]
    assert department.department_score(snap, SCJ, p, "d_jtj") is None
    assert department.department_score(snap, JTJ, p, "d_jtj")["total"] == pytest.approx(52.8)
    assert overview.county_ranking(snap, JTJ, p)["county"].tolist() == ["潞州区"]
    assert department.finding_counts(snap, SCJ, p, "d_jtj") == {}
    assert findings.findings_total(snap, SCJ, p, dept_id="d_jtj") == 0
    assert findings.findings_total(snap, SCJ, p) == 4 and findings.findings_total(snap, BOSS, p) == 5
    assert set(findings.findings(snap, SCJ, p, limit=None)["dept_id"]) == {"d_scj"}
    assert findings.findings(snap, SCJ, p, dept_id="d_jtj").empty
    assert findings.findings_total(snap, SCJ, p, search="潞交罚") == 0
    assert findings.findings_total(snap, BOSS, p, search="潞交罚") == 1
    assert overview.headline(snap, SCJ, p)["n_findings"] == 4
    assert department.rules_found(snap, SCJ, p, "d_jtj") == []
    assert overview.problem_counts(snap, JTJ, p)["n_findings"].sum() == 1
    assert set(overview.trend(snap, SCJ)["county"]) <= {"全市", "市本级"}
    # the other department's record, archived page and subjects
    jtj_finding = findings.findings(snap, BOSS, p, dept_id="d_jtj").iloc[0]
    assert evidence.record_fields(snap, SCJ, "cf", jtj_finding["record_key"]).empty
    assert not evidence.record_fields(snap, JTJ, "cf", jtj_finding["record_key"]).empty
    assert evidence.fetch_row(snap, SCJ, jtj_finding["evidence"]) is None
    assert evidence.archived_body(SCJ, snap, jtj_finding["evidence"]) is None
    assert evidence.archived_body(JTJ, snap, jtj_finding["evidence"]) is not None
    assert subjects.subject_records(snap, SCJ, "李某某").empty
    assert len(subjects.subject_records(snap, BOSS, "李某某")) == 1
    assert set(catalogue.catalogue(snap, SCJ, p)["dept_id"]) <= {"d_scj"}
    assert set(sources.source_status(snap, SCJ)["dept_id"]) == {"d_scj"}
    assert department.deductions(snap, SCJ, p, "d_jtj").empty


def test_reveal_is_for_assessors_and_logged(city: Paths) -> None:
    snap = shared.snapshot_name()
    with pytest.raises(PermissionError):
        evidence.reveal(SCJ, snap, "cf", "rk1", "CF_XDR_ZJHM")
    with pytest.raises(PermissionError):
        evidence.reveal(BOSS, snap, "cf", "rk1", "CF_XDR_ZJHM")
    before = len(workbench.reveal_log(city))
    assert evidence.reveal(JUDGE, snap, "cf", "rk1", "CF_XDR_ZJHM", "fid-x") == "140402199003151234"
    log = workbench.reveal_log(city)
    assert len(log) == before + 1
    assert log.iloc[0][["username", "field", "record_key", "dept_id", "finding_id"]].tolist() == [
        "judge", "CF_XDR_ZJHM", "rk1", "d_scj", "fid-x"]


# --- the app: widgets, query parameters and page switches -----------------------------------------

def test_department_user_sees_only_its_department(city: Paths) -> None:
    at = app()
    at.query_params["dept"] = "d_jtj"  # a link to another department
    at = login(at, "scj")
    assert at.title[0].value.startswith("部门自查")  # its start page
    assert not [s for s in at.selectbox if s.key == "_dept_select"]  # no department choice at all
    assert any("市市场监督管理局" in c.value for c in at.caption)
    rows = table(at, "remediation")
    assert len(rows) == 4 and all(w.startswith("长市监") for w in rows["文书号/页面"])
    assert at.query_params["dept"] == ["d_scj"] or at.query_params["dept"] == "d_scj"
    # the finding selector only offers its own findings
    options = at.selectbox(key="finding").options  # shown labels: "n. 文书号 · rule · field"
    assert len(options) == 4 and all("长市监" in o for o in options)


def test_department_user_cannot_set_another_department_in_state(city: Paths) -> None:
    at = login(app(), "scj")
    at.session_state["dept"] = "d_jtj"  # as if a widget from another page had left it there
    run(at)
    assert len(table(at, "remediation")) == 4
    assert "潞交罚〔2026〕3号" not in table(at, "remediation")["文书号/页面"].tolist()


@pytest.mark.parametrize("page", ["overview", "findings", "access_log"])
def test_department_user_has_no_leader_pages(city: Paths, page: str) -> None:
    at = login(app(), "scj")
    _refused(at, page, "部门账号无权查看本页面。")


def test_assessor_has_no_access_log(city: Paths) -> None:
    at = login(app(), "judge")
    _refused(at, "access_log", "评估人员账号无权查看本页面。")


def _refused(at, page: str, message: str) -> None:
    """Opened by its address, the page says who may not see it, in Chinese, and shows no table (the menu does
    not list it: tests/test_browser.py)."""
    at.switch_page(f"dashboard/views/{page}.py")
    run(at)
    assert [e.value for e in at.error] == [message]
    assert not at.dataframe and not at.metric


@pytest.mark.parametrize("page, key", [("subjects", "subject_records"), ("catalogue", "catalogue_items"),
                                       ("sources", "source_status")])
def test_department_user_pages_are_scoped(city: Paths, page: str, key: str) -> None:
    at = login(app(), "scj")
    at.switch_page(f"dashboard/views/{page}.py")
    run(at)
    if page == "subjects":
        at.text_input(key="subject").input("某某")
        run(at)
        assert table(at, key)["文书号"].tolist() == ["长市监罚〔2026〕15号"]  # not 潞交罚〔2026〕3号 (李某某)
    elif page == "sources":
        assert set(table(at, key)["来源"]) == {"d_scj-xk", "d_scj-cf"}
    else:
        assert any("暂无事项目录" in i.value for i in at.info)


def test_example_users_file_loads() -> None:
    from core.settings import REPO_ROOT

    users, settings = auth.load_users(REPO_ROOT / "data" / "users.example.toml")
    assert {u.role for u in users.values()} == set(auth.ROLES)
    assert auth.authenticate(users, "scjg", "change-me-scjg").scope == "sj-scjg"
    assert settings.mask_person_names is False
