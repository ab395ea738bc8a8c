"""访问日志 (leaders): who logged in, failed, was refused or locked out, and logged out; and every time an
assessor revealed a masked value — who, when, which record and field. Both from ``workbench.sqlite3``."""
from __future__ import annotations

import streamlit as st

from dashboard import workbench
from dashboard.views._common import require, text_table
from core.settings import resolve_paths


def logins(paths) -> None:
    """Logins, failures, refused attempts, lockouts and logouts, newest first (no password is ever logged)."""
    st.subheader("登录与退出")
    st.caption("每次登录成功、登录失败、等待或锁定期间被拒绝的尝试、临时锁定和退出登录（最近 1000 条）。"
               "用户名按输入原样记录（可能是不存在的用户名）；客户端为访问地址，无地址时为浏览器会话。")
    log = workbench.access_log(paths)
    if log.empty:
        st.info("暂无登录记录。")
        return
    log = log.assign(event=log["event"].map(workbench.EVENTS).fillna(log["event"]),
                     scope=log["scope"].map({"user": "用户名", "client": "客户端"}))
    with st.container(key="access_log"):
        st.dataframe(text_table(log.rename(columns={"at": "时间", "event": "事件", "username": "用户名", "client": "客户端",
                                                    "scope": "锁定对象", "detail": "说明"})), hide_index=True)


def reveals(paths) -> None:
    st.subheader("查看原值")
    st.caption("评估人员每次查看被遮蔽的个人信息原值都记录在此（最近 1000 条）。")
    log = workbench.reveal_log(paths)
    if log.empty:
        st.info("暂无查看原值的记录。")
        return
    with st.container(key="reveal_log"):
        st.dataframe(text_table(log.rename(columns={"at": "时间", "username": "查看人", "dept_id": "部门", "kind": "类型",
                                                    "record_key": "记录", "field": "字段", "finding_id": "问题编号",
                                                    "reason": "理由"})), hide_index=True)


def main() -> None:
    require("leader")
    st.title("访问日志")
    paths = resolve_paths()
    logins(paths)
    reveals(paths)


main()
