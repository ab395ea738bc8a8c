"""Streamlit entry of the sgs dashboard: ``streamlit run streamlit_app.py`` (or ``sgs serve``).

Runs on every interaction before the page: it makes sure someone is logged in (``dashboard.auth``; the
explicit open demo mode skips the login; a reload resumes the login from its signed session cookie,
``dashboard.sessions``), offers only the pages that person's role may open, finds the
current published snapshot, lets the user pick the period once in the sidebar (kept in
``st.session_state`` across pages) and shows the data time. The pages themselves live in
``dashboard/views/``. Only the published snapshot is read, never the working database, so the dashboard
keeps working while a crawl writes.
"""
from __future__ import annotations

import json

import duckdb
import streamlit as st
from streamlit import config
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard import auth, logins, server, sessions, warmup
from dashboard.queries import province, shared
from dashboard.views._common import (MASK_NAMES_KEY, NO_DATA, PERIOD_KEY, SNAPSHOT_KEY, VIEWER_KEY, chrome,
                                     login_chrome)
from core.store import StoreError
from core.settings import resolve_paths

EVERYONE = ("leader", "assessor", "department")
TOKEN_KEY = "session_token"  # this browser session's signed token (revoked at logout)
HANDOFF_KEY = "session_handoff"  # the one-time code the page exchanges for the cookie, until it is used
CLEAR_KEY = "session_clear"  # set at logout: the next page clears the cookie
# (file, title, url path, roles that may open it); the first page a role may open is its start page.
PROVINCE_PATH = "province"  # a province's dashboard (sgs serve --province): its leaders' and assessors' start page
PAGES = [
    ("dashboard/views/province.py", province.title(), PROVINCE_PATH, ("leader", "assessor") if province.store() else ()),
    ("dashboard/views/overview.py", "总览", "overview", ("leader", "assessor")),
    ("dashboard/views/department.py", "部门自查", "department", EVERYONE),
    ("dashboard/views/findings.py", "问题清单", "findings", ("leader", "assessor")),
    ("dashboard/views/subjects.py", "主体查询", "subjects", EVERYONE),
    ("dashboard/views/catalogue.py", "事项目录", "catalogue", EVERYONE),
    ("dashboard/views/inspection.py", "录入检查问题", "inspection", ("leader", "assessor")),
    ("dashboard/views/sources.py", "采集状态", "sources", EVERYONE),
    ("dashboard/views/objections.py", "信用异议", "objections", EVERYONE),
    ("dashboard/views/access_log.py", "访问日志", "access-log", ("leader",)),
]


def login() -> auth.Viewer | None:
    """The session's viewer; without one, the login form (or the open demo visitor in open demo mode)."""
    if VIEWER_KEY in st.session_state:
        return st.session_state[VIEWER_KEY]
    paths = resolve_paths()
    try:
        users, settings = auth.load_users(auth.users_path(paths))
    except auth.UsersError as exc:
        if not auth.open_demo():
            st.title("双公示监测评估")
            st.error(str(exc))
            return None
        users, settings = {}, auth.Settings()
    if auth.open_demo():
        st.session_state[MASK_NAMES_KEY] = settings.mask_person_names
        st.session_state[VIEWER_KEY] = auth.OPEN_VIEWER
        return auth.OPEN_VIEWER
    token = st.context.cookies.get(sessions.COOKIE)
    resumed = None if st.session_state.get(CLEAR_KEY) else logins.resume(paths, users, token, client())
    if resumed is not None:
        st.session_state.update({MASK_NAMES_KEY: settings.mask_person_names, VIEWER_KEY: resumed, TOKEN_KEY: token})
        return resumed
    if st.session_state.get(CLEAR_KEY):
        _cookie_request(server.LOGOUT_PATH, None)
    st.title("双公示监测评估 · 登录")
    with st.form(key="login"):
        username = st.text_input("用户名", key="login_user")
        password = st.text_input("密码", type="password", key="login_password")
        submitted = st.form_submit_button("登录")
    if submitted:
        outcome = logins.attempt(paths, auth.users_path(paths), users, username or "", password or "", client())
        if outcome.viewer is None:
            st.error(outcome.message)
            return None
        viewer = outcome.viewer
        token = sessions.issue(paths, viewer.username)
        st.session_state.update({MASK_NAMES_KEY: settings.mask_person_names, VIEWER_KEY: viewer, TOKEN_KEY: token,
                                 HANDOFF_KEY: sessions.handoff(token)})
        st.session_state.pop(CLEAR_KEY, None)
        st.rerun()
    return None


def _cookie_request(path: str, code: str | None) -> None:
    """A zero-height frame of our own whose script posts to the guard (``dashboard.server``): the one-time
    code for the session cookie, or the logout that clears it. Python cannot set a cookie; this can, and the
    cookie stays HttpOnly (no script of any page can read it)."""
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    url = "/" + "/".join(p for p in (base, path) if p)
    headers = json.dumps({"X-SGS-Code": code} if code else {})
    st.iframe(f"<script>fetch({json.dumps(url)}, {{method: 'POST', credentials: 'same-origin', "
              f"headers: {headers}}});</script>", height=1)


def session_id() -> str:
    """This browser session's id (Streamlit's; "" outside a running app)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def client() -> str:
    """Who is attempting, for the per-client login throttle and the access log: the remote address when
    Streamlit has one (behind a local reverse proxy, the address it forwards), else this browser session
    (Streamlit gives no address for connections from 127.0.0.1 itself)."""
    address = st.context.ip_address
    return address if isinstance(address, str) and address else f"session:{session_id()}"


def logout(viewer: auth.Viewer) -> None:
    """End the login: log it, revoke its session token (the cookie is cleared on the next page), forget the
    viewer, and revoke the download links this session made."""
    logins.logout(resolve_paths(), viewer.username, client(), st.session_state.get(TOKEN_KEY))
    for key in (VIEWER_KEY, MASK_NAMES_KEY, TOKEN_KEY, HANDOFF_KEY):
        st.session_state.pop(key, None)
    st.session_state[CLEAR_KEY] = True
    server.revoke_session(session_id())


def navigation(viewer: auth.Viewer | None):
    """Every page has its own address, so a deep link (``/department?dept=…``) opens it after the login; the
    root address runs a hidden start page that moves on to the role's first page. A page the role may not
    open is hidden from the menu and, opened by its address, says so in Chinese (``views._common.require``)
    instead of Streamlit's English "Page not found"."""
    role = viewer.role if viewer is not None else None
    pages = {path: st.Page(file, title=title, url_path=path, visibility="visible" if role in roles else "hidden")
             for file, title, path, roles in PAGES}
    first = next((path for _file, _title, path, roles in PAGES if role in roles), PAGES[0][2])

    def start() -> None:
        st.switch_page(pages[first])

    return st.navigation([st.Page(start, title="首页", url_path="start", default=True, visibility="hidden"),
                          *pages.values()], position="sidebar" if viewer is not None else "hidden")


def sidebar(snapshot: str, viewer: auth.Viewer) -> bool:
    """Who is logged in, the period (latest by default) and the data time; False when nothing is scored."""
    account(viewer)
    periods = shared.periods(snapshot)
    if not periods:
        return False
    if st.session_state.get(PERIOD_KEY) not in periods:
        st.session_state[PERIOD_KEY] = periods[0]
    with st.sidebar:
        st.selectbox("评估期", periods, key=PERIOD_KEY)
        when = shared.data_time(snapshot)
        st.caption(f"数据时间：{when:%Y-%m-%d %H:%M}" if when else "数据时间：未知")
    st.session_state[SNAPSHOT_KEY] = snapshot
    return True


def account(viewer: auth.Viewer) -> None:
    """Who is logged in, and the logout button."""
    with st.sidebar:
        st.caption(f"当前用户：{viewer.name}（{auth.ROLES[viewer.role]}）")
        if viewer == auth.OPEN_VIEWER:
            st.caption("开放演示模式：无需登录，只读，个人信息保持遮蔽。")
        elif st.button("退出登录", key="logout"):
            logout(viewer)
            st.rerun()


def main() -> None:
    st.set_page_config(layout="wide", page_title="双公示监测评估")
    chrome()
    viewer = login()
    if viewer is None:
        login_chrome()
        navigation(None)  # resolves the address (a deep link) without running it: the login keeps it
        return
    page = navigation(viewer)
    if st.session_state.get(HANDOFF_KEY):
        with st.sidebar:
            _cookie_request(server.SESSION_PATH, st.session_state[HANDOFF_KEY])
    try:
        if page.url_path in (PROVINCE_PATH, ""):  # the province's store, not this folder's snapshot ("": start)
            account(viewer)
            page.run()
            return
        snapshot = shared.snapshot_name()
        if snapshot is not None:
            warmup.prefill_in_background(snapshot)  # a publish's new snapshot: its city-wide figures, once
        if snapshot is None or not sidebar(snapshot, viewer):
            st.title("双公示监测评估")
            st.info(NO_DATA)
            return
        page.run()
    except (StoreError, duckdb.IOException) as exc:
        # The snapshot was replaced and pruned between reading CURRENT and opening it, or is unreadable.
        st.warning(f"数据正在更新，请稍后刷新页面。（{exc}）")


main()
