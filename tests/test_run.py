"""``sgs run``: the daily run as real processes on the demo city (127.0.0.1), with a real SMTP server (aiosmtpd).

- the run crawls, scores, verifies, publishes and writes the day's digests, and mails them: the messages
  arrive with their subjects, Chinese UTF-8 bodies and no unmasked ID number; a department without an address
  is skipped with a note;
- a second run while one holds the lock refuses at once (exit 1, Chinese message), also two real processes;
- a run killed with SIGKILL in the middle of its crawl leaves the published snapshot as it was (it opens), and
  the next run resumes and completes;
- digests list a finding as new once, and show overdue findings and near deadlines once a period is issued.
"""
from __future__ import annotations

import email
import email.policy
import fcntl
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from core import store
from metrics import corrections
from core.privacy import holds_personal
from core.settings import REPO_ROOT, resolve_paths
from reports.digest import build_digests
from sgs.run import lock_path, run_lock

AS_OF = "2026-11-25"
NEXT_DAY = "2026-11-26"  # the killed run and the one completing it
MAILED = ("sj-zj", "xs-yj")  # the departments whose liaison has an address in the test's city file
ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


class Inbox:
    """aiosmtpd's handler: every message as delivered, with its envelope recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.original_content, policy=email.policy.default)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def smtp():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


def _sgs(*args: str) -> list[str]:
    return [sys.executable, "-m", "sgs.cli", *args]


def _run_cmd(config: Path, db: Path, day: str = NEXT_DAY) -> list[str]:
    return _sgs("run", "--config", str(config), "--db", str(db), "--as-of", day)


def _with_mail(config: Path, port: int) -> None:
    """Give two departments a liaison with an address, and the city a [mail] section for the test server."""
    text = config.read_text("utf-8")
    for dept in MAILED:
        text = re.sub(rf'(id = "{dept}"\n(?:.*\n)*?liaison = ")([^"]*)"', rf'\g<1>\g<2> {dept}@example.gov.cn"',
                      text, count=1)
    text += (f'\n[mail]\nhost = "127.0.0.1"\nport = {port}\nfrom = "sgs@example.gov.cn"\n'
             'credit_office = "xinyong@example.gov.cn"\n')
    config.write_text(text, "utf-8")


def _wait_unlocked(paths, seconds: float = 20) -> None:
    """The killed run's fetch child ends when its socket closes; until then it still holds the inherited lock."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with run_lock(paths):
                return
        except Exception:
            time.sleep(0.1)
    raise AssertionError("the run lock was never released")


@pytest.fixture(scope="module")
def server(demo_server):
    from democity import DemoServer

    with DemoServer(demo_server[0]) as served:
        yield served


@pytest.fixture(scope="module")
def daily(server, smtp, tmp_path_factory):
    """One completed run, one killed mid-crawl, one resuming; (paths, config, server, runs' outputs)."""
    from democity import write_city

    port, inbox = smtp
    root = tmp_path_factory.mktemp("run")
    paths = resolve_paths(root / "sgs.duckdb")
    config = write_city(server.city, server.base_url, root)
    _with_mail(config, port)
    first = subprocess.run(_run_cmd(config, paths.db, AS_OF), cwd=REPO_ROOT, env=ENV, capture_output=True, text=True,
                           timeout=600)
    assert first.returncode == 0, first.stderr
    mailed_first = list(inbox.messages)
    snapshot = store.current_snapshot(paths)
    con = store.connect(paths)  # the quarter is issued: its deadline has passed on AS_OF
    try:
        con.execute("""INSERT INTO issued_versions VALUES ('2026Q3', 1, DATE '2026-11-02', now(), 'test', NULL,
                       DATE '2026-11-20', 'issued/2026Q3/v1.duckdb', 0)""")
        store.publish(con, paths)
        rows = con.execute("""SELECT finding_id, period, dept_id FROM findings WHERE dept_id = 'sj-zj'
                              AND period = '2026Q3' AND record_key IS NOT NULL ORDER BY finding_id LIMIT 2""").fetchall()
    finally:
        con.close()
    objected, fixed = (corrections.Finding(*r, "open") for r in rows)
    corrections.record(paths, [objected], "object", username="clerk", role="department", scope="sj-zj",
                       reason="该记录已按规定公示")
    corrections.record(paths, [corrections.Finding(*rows[0], "objected")], "reject_objection", username="pg",
                       role="assessor", reason="证据不足，维持原认定")
    corrections.record(paths, [fixed], "report_fixed", username="clerk", role="department", scope="sj-zj",
                       reason="已更正")  # its page is not changed: the next run reopens it
    snapshot = store.current_snapshot(paths)
    start = server.served()
    killed = subprocess.Popen(_run_cmd(config, paths.db), cwd=REPO_ROOT, env=ENV, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while server.served() - start < 200 and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert killed.poll() is None, "the run ended before it could be killed"
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    after_kill = store.current_snapshot(paths)
    con = store.open_snapshot(paths)  # the dashboard's view right after the kill: the last good scores
    try:
        scored_after_kill = con.execute("SELECT count(*) FROM scores WHERE period = '2026Q3'").fetchone()[0]
    finally:
        con.close()
    _wait_unlocked(paths)
    resumed = subprocess.run(_run_cmd(config, paths.db), cwd=REPO_ROOT, env=ENV, capture_output=True, text=True,
                             timeout=600)
    con = store.open_snapshot(paths)
    try:
        crawls = con.execute("SELECT status, count(*) FROM crawls GROUP BY ALL").fetchall()
    finally:
        con.close()
    return paths, config, first, mailed_first, snapshot, (after_kill, scored_after_kill), (resumed, crawls), inbox


def test_a_run_mails_the_digests(daily):
    paths, _, first, mailed, *_ = daily
    to = {rcpt[0]: msg for rcpt, msg in mailed}
    assert set(to) == {f"{d}@example.gov.cn" for d in MAILED} | {"xinyong@example.gov.cn"}
    for address, msg in to.items():
        assert msg["Subject"].startswith("【双公示每日摘要】") and AS_OF in msg["Subject"]
        body = msg.get_content()
        assert msg.get_content_charset() == "utf-8" and "每日摘要" in body
        assert not holds_personal(body) and not holds_personal(msg["Subject"])
    assert "信用办" in to["xinyong@example.gov.cn"]["Subject"]
    assert "新发现的问题" in to["sj-zj@example.gov.cn"].get_content()
    assert "没有联络人电子邮箱，未发送" in first.stderr  # the other departments: a note each, no guess


def test_digests_are_written_masked(daily):
    paths, *_ = daily
    folder = paths.root / "digests" / AS_OF
    con = store.open_snapshot(paths)
    try:
        depts = {r[0] for r in con.execute("SELECT dept_id FROM departments").fetchall()}
    finally:
        con.close()
    files = {p.stem for p in folder.glob("*.md")}
    assert files == depts | {"credit-office"}
    for p in folder.glob("*.md"):
        text = p.read_text("utf-8")
        assert text.startswith("主题：【双公示每日摘要】") and not holds_personal(text)


def test_a_second_run_refuses_while_one_holds_the_lock(daily):
    paths, config, *_ = daily
    with run_lock(paths):
        second = subprocess.run(_run_cmd(config, paths.db), cwd=REPO_ROOT, env=ENV, capture_output=True, text=True,
                                timeout=120)
    assert second.returncode == 1
    assert "另一个 sgs run 正在运行" in second.stderr and str(os.getpid()) in second.stderr
    assert "Traceback" not in second.stderr


def test_two_real_runs_at_once(daily):
    paths, config, *_ = daily
    holder = subprocess.Popen(_run_cmd(config, paths.db), cwd=REPO_ROOT, env=ENV, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    fd = os.open(lock_path(paths), os.O_RDWR | os.O_CREAT)
    try:  # until the first run holds the lock (a shared lock cannot be had then)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
                time.sleep(0.01)
            except BlockingIOError:
                break
    finally:
        os.close(fd)
    second = subprocess.run(_run_cmd(config, paths.db), cwd=REPO_ROOT, env=ENV, capture_output=True, text=True,
                            timeout=120)
    assert holder.wait(timeout=600) == 0, holder.stderr.read()
    assert second.returncode == 1 and "另一个 sgs run 正在运行" in second.stderr


def test_a_killed_run_leaves_the_snapshot_and_the_next_completes(daily):
    paths, _, _, _, snapshot, (after_kill, scored_after_kill), (resumed, crawls), _ = daily
    assert after_kill == snapshot  # CURRENT still names the snapshot published before the killed run
    assert scored_after_kill > 0  # and it opens, with the scores of the last good run
    assert resumed.returncode == 0, resumed.stderr
    assert crawls == [("done", 2)]  # the killed crawl resumed and finished, no third crawl


def test_digests_list_overdue_and_new_once(daily):
    paths, *_ = daily
    folder = paths.root / "digests" / NEXT_DAY  # written again by test_two_real_runs_at_once: the same
    office = (folder / "credit-office.md").read_text("utf-8")
    assert "## 逾期未整改（按部门）" in office and "（无逾期）" not in office
    dept = (folder / "sj-zj.md").read_text("utf-8")
    assert "## 新发现的问题（0）" in dept  # the next day's digest: everything was listed the day before
    assert "整改期限 2026-11-20 已过" in dept
    assert "## 异议答复（1）" in dept and "异议不成立：证据不足，维持原认定" in dept
    assert "## 整改复核结果（1）" in dept and "复核：未整改" in dept and "仍有此问题" in dept


def test_deadlines_in_the_next_five_working_days(daily):
    paths, *_ = daily
    con = store.open_snapshot(paths)
    try:
        day = build_digests(con, paths, date(2026, 11, 17), ["2026Q3"])  # 3 working days before the deadline
    finally:
        con.close()
    soon = {d.dept_id: d.counts["soon"] for d in day.digests if d.dept_id != "credit-office"}
    assert sum(soon.values()) > 0 and all(n >= 0 for n in soon.values())
    text = next(d.body for d in day.digests if d.counts.get("soon"))
    assert "整改期限 2026-11-20" in text and "已过" not in text and not holds_personal(text)


def test_mail_settings_are_checked(tmp_path):
    from core.cityconfig import ConfigError, load_city

    path = tmp_path / "city.toml"
    path.write_text('[city]\nname = "x"\n[mail]\nhost = "smtp.example.gov.cn"\nport = 0\nfrom = "不是地址"\n'
                    'password_env = "密码123"\npassword = "secret"\n', "utf-8")
    with pytest.raises(ConfigError) as err:
        load_city(path)
    lines = "\n".join(err.value.problems)
    for key in ("mail.port", "mail.from", "mail.password_env", "mail.password"):
        assert f"{key}：" in lines, lines
    assert "secret" not in lines


def test_an_unusable_mail_server_is_one_clear_error(tmp_path, monkeypatch):
    from core.cityconfig import Mail
    from reports.digest import Digest
    from reports.mail import MailError, send_digests

    digest = Digest("d1", "某局", "【双公示每日摘要】某局", "正文\n")
    with pytest.raises(MailError, match="环境变量 SGS_TEST_SMTP 未设置"):
        send_digests(Mail(host="127.0.0.1", port=_free_port(), password_env="SGS_TEST_SMTP"), [digest], {"d1": "a@b.cn"})
    with pytest.raises(MailError, match="无法通过邮件服务器 127.0.0.1"):
        send_digests(Mail(host="127.0.0.1", port=_free_port()), [digest], {"d1": "a@b.cn"})
    sent = send_digests(Mail(), [digest], {})
    assert sent.sent == [] and "未配置邮件服务器" in sent.notes[0]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_with_the_password_from_the_environment(monkeypatch):
    """A server that requires AUTH: the password comes from the variable ``password_env`` names, never the
    file. (A wrong one is not tried here: aiosmtpd then stalls smtplib's next mechanism until the timeout.)"""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from core.cityconfig import Mail
    from reports.digest import Digest
    from reports.mail import MailError, send_digests

    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"sgs", b"s3cret")
        return AuthResult(success=ok)

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=check,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        mail = Mail(host="127.0.0.1", port=controller.port, sender="sgs@example.gov.cn", username="sgs",
                    password_env="SGS_TEST_SMTP")
        digest = Digest("d1", "某局", "【双公示每日摘要】某局", "正文：逾期未整改 1 个\n")
        monkeypatch.setenv("SGS_TEST_SMTP", "s3cret")
        sent = send_digests(mail, [digest], {"d1": "d1@example.gov.cn"})
        assert sent.sent == [("d1", "d1@example.gov.cn")] and len(inbox.messages) == 1
        assert inbox.messages[0][1].get_content() == "正文：逾期未整改 1 个\n"
        monkeypatch.delenv("SGS_TEST_SMTP")
        with pytest.raises(MailError, match="环境变量 SGS_TEST_SMTP 未设置"):
            send_digests(mail, [digest], {"d1": "d1@example.gov.cn"})
    finally:
        controller.stop()
