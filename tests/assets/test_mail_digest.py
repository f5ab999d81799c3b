"""Mail is sent once, on purpose, to a real SMTP server on loopback. The nightly job (the run the schedule
starts, which asks for its last day's digest) mails an HTML part, a text part and the chart inline, one message
per limited recipient; a backfill mails nobody. The outbox ledger records who got what: a re-run mails nobody
twice and a second `digest --send` is refused unless --resend. A server that says 451 once is retried; a
server that is not there fails the run, visibly, and the digest stays in the outbox until a later run sends
it; a half-made mail setting fails with one line."""

import socket
from datetime import date, timedelta
from email import message_from_bytes
from email.policy import default

import dagster as dg
import pytest
from aiosmtpd.controller import Controller

from pipelines.cli import main
from pipelines.db import open_warehouse
from pipelines.reporting.digest import usd
from pipelines.reporting.ledger import Ledger
from pipelines.run import build_days
from pipelines.settings import load_settings
from tests.unit.test_digest import DAY, small_org


class Inbox:
    """An aiosmtpd handler that keeps what it receives; ``fail_first`` replies 451 to that many DATA commands."""

    def __init__(self, fail_first: int = 0):
        self.messages, self.refused = [], 0
        self.fail_first = fail_first

    async def handle_DATA(self, server, session, envelope):
        if self.refused < self.fail_first:
            self.refused += 1
            return "451 4.3.0 Mailbox busy, try again later"
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    servers = []

    def start(inbox: Inbox, port: int | None = None) -> int:
        controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port())
        controller.start()
        servers.append(controller)
        return controller.port

    yield start
    for c in servers:
        c.stop()


def configure(home, port: int) -> None:
    (home.home / "tokenbooks.yaml").write_text(f"""
smtp: {{host: 127.0.0.1, port: {port}, sender: books@example.com, attempts: 3, backoff_s: 0.05}}
recipients:
  - ops@example.com
  - {{address: sally@example.com, apps: [sales]}}
""")


def nightly(settings, instance):
    """What the schedule runs: the last days rebuilt, the last one's digest mailed."""
    return build_days(settings, DAY - timedelta(days=2), DAY, with_digest=True, dagster_instance=instance, mail=True)


def parts(msg):
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_nightly_job_mails_the_digest(home, smtp_server):
    inbox = Inbox()
    configure(home, smtp_server(inbox))
    settings = load_settings(home=home.home)
    small_org(settings)
    result = nightly(settings, dg.DagsterInstance.ephemeral())
    assert result.success

    assert sorted(to for to, _ in inbox.messages) == [["ops@example.com"], ["sally@example.com"]]
    everyone = next(m for to, m in inbox.messages if to == ["ops@example.com"])
    assert everyone.get_content_type() == "multipart/alternative"
    text, html = parts(everyone)
    con = open_warehouse(settings)
    total, sales = con.execute(
        "select sum(cost_usd), sum(cost_usd) filter (where app = 'sales') from mart_cost_daily where day = $d", {"d": DAY}
    ).fetchone()
    con.close()
    assert f"Spent {usd(total)}" in text and usd(total) in html and usd(total) in everyone["Subject"]
    assert "&lt;script&gt;" in html and "<script" not in html
    chart = next(p for p in everyone.walk() if p.get_content_type() == "image/png")  # inline, by Content-ID
    assert chart["Content-ID"] == "<trend>" and 'src="cid:trend"' in html
    assert chart.get_content_disposition() == "inline" and not list(everyone.iter_attachments())
    sally = next(m for to, m in inbox.messages if to == ["sally@example.com"])
    text, html = parts(sally)
    assert f"Spent {usd(sales)}" in text and "Limited to apps sales" in text and "triage" not in html

    # Re-running the night mails nobody twice; the ledger says who got what.
    assert nightly(settings, dg.DagsterInstance.ephemeral()).success
    assert len(inbox.messages) == 2
    assert sorted((e.digest, e.to) for e in Ledger(settings.outbox).entries()) == [
        (f"digest-{DAY}", ("ops@example.com",)), (f"digest-{DAY}--sally-example-com", ("sally@example.com",))]


def test_a_backfill_or_repricing_run_mails_nobody(home, smtp_server):
    inbox = Inbox()
    configure(home, smtp_server(inbox))
    settings = load_settings(home=home.home)
    small_org(settings, days=3)
    assert build_days(settings, DAY - timedelta(days=2), DAY, dagster_instance=dg.DagsterInstance.ephemeral()).success
    assert main(["--home", str(settings.home), "build", "--from", str(DAY - timedelta(days=2)), "--to", str(DAY)]) == 0
    assert inbox.messages == [] and Ledger(settings.outbox).entries() == []
    assert (settings.outbox / f"digest-{DAY}.html").exists()  # written, not mailed


def test_a_second_send_is_refused_unless_resend(home, smtp_server, capsys):
    inbox = Inbox()
    configure(home, smtp_server(inbox))
    settings = load_settings(home=home.home)
    small_org(settings, days=3)
    cli = ["--home", str(settings.home), "digest", "--day", str(DAY)]
    assert main([*cli, "--to", "ops@example.com"]) == 0
    capsys.readouterr()
    assert main([*cli, "--to", "ops@example.com"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: already sent: digest-{DAY} to ops@example.com (")
    assert "--resend" in err[0] and len(inbox.messages) == 1
    assert main([*cli, "--to", "ops@example.com", "--resend"]) == 0
    assert len(inbox.messages) == 2
    assert [(e.to, e.resend) for e in Ledger(settings.outbox).entries(f"digest-{DAY}")] == [
        (("ops@example.com",), False), (("ops@example.com",), True)]
    # --send to everyone: ops has it, so only the limited recipient is mailed.
    capsys.readouterr()
    assert main([*cli, "--send"]) == 0
    assert [to for to, _ in inbox.messages[2:]] == [["sally@example.com"]]
    assert "already sent to ops@example.com" in capsys.readouterr().out


def test_a_half_made_mail_setting_fails_the_nightly_run(home):
    (home.home / "tokenbooks.yaml").write_text("recipients: [ops@example.com]\n")  # no SMTP host
    settings = load_settings(home=home.home)
    small_org(settings, days=3)
    instance = dg.DagsterInstance.ephemeral()
    result = nightly(settings, instance)
    assert not result.success
    failure = next(e for e in instance.all_logs(result.run_id) if e.dagster_event and e.dagster_event.is_step_failure)
    assert f"digest for {DAY} not mailed: cannot send: no SMTP host" in failure.dagster_event.step_failure_data.error.message
    assert (settings.outbox / f"digest-{DAY - timedelta(days=1)}.html").exists()  # the other days are written


def test_a_busy_server_is_retried(home, smtp_server, capsys):
    inbox = Inbox(fail_first=1)
    configure(home, smtp_server(inbox))
    settings = load_settings(home=home.home)
    small_org(settings, days=3)
    assert main(["--home", str(settings.home), "digest", "--day", str(DAY), "--to", "ops@example.com"]) == 0
    assert inbox.refused == 1 and [to for to, _ in inbox.messages] == [["ops@example.com"]]
    out = capsys.readouterr()
    assert "in 2 attempt(s)" in out.out and "451" in out.err  # the failed attempt is reported as it happens


def test_a_failed_send_fails_the_run_and_keeps_the_digest(home, smtp_server):
    port = free_port()  # nothing listens here yet
    configure(home, port)
    settings = load_settings(home=home.home)
    small_org(settings, days=3)
    instance = dg.DagsterInstance.ephemeral()
    result = nightly(settings, instance)
    assert not result.success
    failure = next(e for e in instance.all_logs(result.run_id) if e.dagster_event and e.dagster_event.is_step_failure)
    assert "digest not delivered" in failure.dagster_event.step_failure_data.error.message
    retries = [e for e in instance.all_logs(result.run_id) if "send attempt" in (e.user_message or "")]
    assert len(retries) >= 3  # every attempt is in the run's log
    eml = settings.outbox / f"digest-{DAY}.eml"
    assert eml.exists() and Ledger(settings.outbox).entries() == []
    assert "multipart/alternative" in eml.read_text()

    # The server comes back: the next run sends what was kept.
    inbox = Inbox()
    smtp_server(inbox, port)
    assert nightly(settings, dg.DagsterInstance.ephemeral()).success
    assert sorted(to for to, _ in inbox.messages) == [["ops@example.com"], ["sally@example.com"]]
    assert len(Ledger(settings.outbox).entries()) == 2
