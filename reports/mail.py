"""Sending the daily digests by SMTP (stdlib ``smtplib``), when the city file's ``[mail]`` names a server.

A department's address is its liaison's email in the department registry (a ``liaison_email`` or ``email``
column of ``departments``, or an address written in ``liaison``); a department without one is skipped with a
note, never guessed. The credit office's digest goes to ``[mail] credit_office``. The password is read from
the environment variable ``password_env`` names, never from the file. Bodies are UTF-8 plain text, already
masked by ``reports.digest``.
"""
from __future__ import annotations

import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import duckdb

from core.cityconfig import Mail
from core.errors import SgsError
from reports.digest import CREDIT_OFFICE, Digest

_ADDRESS = re.compile(r"[^@\s,;<>()（）:：]+@[^@\s,;<>()（）:：]+\.[A-Za-z]{2,}")
EMAIL_COLUMNS = ("liaison_email", "email")


class MailError(SgsError, RuntimeError):
    """The mail server could not be reached or refused the login (the digests are written all the same)."""


@dataclass(frozen=True)
class Sent:
    """What happened to the day's mail: addresses written to, and notes on what was not sent (Chinese)."""

    sent: list[tuple[str, str]]  # (dept_id, address)
    notes: list[str]


def recipients(con: duckdb.DuckDBPyConnection, mail: Mail) -> dict[str, str]:
    """dept_id → the liaison's address (from the registry), plus the credit office's from ``[mail]``."""
    columns = {r[0] for r in con.execute("DESCRIBE departments").fetchall()}
    chosen = [c for c in EMAIL_COLUMNS if c in columns]
    texts = ", ".join([*(f"coalesce({c}, '')" for c in chosen), "coalesce(liaison, '')"])
    out = {}
    for dept_id, *values in con.execute(f"SELECT dept_id, {texts} FROM departments").fetchall():
        found = next((m[0] for v in values if (m := _ADDRESS.search(v or ""))), None)
        if found:
            out[dept_id] = found
    if mail.credit_office:
        out[CREDIT_OFFICE] = mail.credit_office
    return out


def message(digest: Digest, sender: str, to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = digest.subject
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    msg.set_content(digest.body, charset="utf-8", cte="base64")  # 7-bit safe through any relay
    return msg


def send_digests(mail: Mail, digests: list[Digest], addresses: dict[str, str]) -> Sent:
    """Send each digest whose recipient has an address over one SMTP session; ``MailError`` when the server
    cannot be used at all (a single refused recipient is a note)."""
    notes = [f"{d.name}（{d.dept_id}）：部门登记信息中没有联络人电子邮箱，未发送（摘要文件已生成）"
             for d in digests if d.dept_id not in addresses]
    if not mail.host:
        return Sent([], ["未配置邮件服务器（城市配置 [mail] host），摘要只写入文件"])
    password = os.environ.get(mail.password_env, "") if mail.password_env else ""
    if mail.password_env and not password:
        raise MailError(f"环境变量 {mail.password_env} 未设置：请设置邮件服务器密码后再运行（摘要文件已生成）。")
    sent = []
    try:
        with smtplib.SMTP(mail.host, mail.port, timeout=30) as smtp:
            if mail.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if mail.username:
                smtp.login(mail.username, password)
            for d in digests:
                to = addresses.get(d.dept_id)
                if to is None:
                    continue
                try:
                    smtp.send_message(message(d, mail.sender, to))
                    sent.append((d.dept_id, to))
                except smtplib.SMTPRecipientsRefused:
                    notes.append(f"{d.name}（{d.dept_id}）：邮件服务器拒收地址 {to}，未发送")
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"无法通过邮件服务器 {mail.host}:{mail.port} 发送摘要（{exc}）：请检查城市配置 [mail] "
                        f"的主机、端口和账号；已发送 {len(sent)} 份，摘要文件已生成。") from exc
    return Sent(sent, notes)
