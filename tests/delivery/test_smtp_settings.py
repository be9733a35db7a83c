"""The email and link settings: read as documented, and a setting that cannot work is refused
at start, named, without repeating a password."""

from __future__ import annotations

import pytest

from metricx.config import ConfigError, SmtpServer, load


def test_without_smtp_url_there_is_no_mail_server_and_mail_goes_to_the_data_directory():
    config = load({"METRICX_DATA_DIR": "/srv/metricx"})
    assert config.smtp_server is None
    assert str(config.mailbox_dir) == "/srv/metricx/mailbox"
    assert config.smtp_from == "Metricx <alerts@metricx.localhost>"
    assert (config.smtp_ca_file, config.smtp_timeout_seconds) == (None, 20)
    assert config.app_public_url == "http://localhost:8501"


@pytest.mark.parametrize(
    "url, server",
    [
        ("smtp://mail.example.com", SmtpServer("mail.example.com", 587, False, None, None)),
        ("smtp://relay:25", SmtpServer("relay", 25, False, None, None)),
        ("smtps://mail.example.com", SmtpServer("mail.example.com", 465, True, None, None)),
        # the password is URL-decoded: `@`, `:` and `/` may be in it
        (
            "smtp://apikey:p%40ss%3Aw%2Frd@smtp.example.com:2525",
            SmtpServer("smtp.example.com", 2525, False, "apikey", "p@ss:w/rd"),
        ),
        (
            "smtps://me%40example.com:secret@smtp.example.com",
            SmtpServer("smtp.example.com", 465, True, "me@example.com", "secret"),
        ),
    ],
)
def test_smtp_url_is_taken_apart_with_each_schemes_default_port(url, server):
    assert load({"SMTP_URL": url}).smtp_server == server


@pytest.mark.parametrize(
    "url, message",
    [
        ("https://mail.example.com", "SMTP_URL must look like smtp://"),
        ("mail.example.com:587", "SMTP_URL must look like smtp://"),
        ("smtp://", "SMTP_URL names no host"),
        ("smtp://user:hunter2@mail.example.com:port", "SMTP_URL has a bad port"),
        ("smtp://user:hunter2@mail.example.com:99999", "SMTP_URL has a bad port"),
        ("smtp://user@mail.example.com", "SMTP_URL needs both a user and a password"),
        ("smtp://user:hunter2@mail.example.com/inbox", "SMTP_URL must be only smtp://"),
    ],
)
def test_a_malformed_smtp_url_is_refused_at_start_without_repeating_the_password(url, message):
    with pytest.raises(ConfigError, match=message) as refused:
        load({"SMTP_URL": url})
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("SMTP_FROM", "Metricx", "SMTP_FROM must be an email address"),
        ("SMTP_TIMEOUT_SECONDS", "0", "SMTP_TIMEOUT_SECONDS must be at least 1, got 0"),
        ("SMTP_TIMEOUT_SECONDS", "soon", "SMTP_TIMEOUT_SECONDS must be a whole number"),
        ("APP_PUBLIC_URL", "localhost:8501", "APP_PUBLIC_URL must be an http\\(s\\) URL"),
        ("APP_PUBLIC_URL", "ftp://metricx.example.com", "APP_PUBLIC_URL must be an http\\(s\\)"),
    ],
)
def test_an_email_setting_that_cannot_work_is_refused_and_named(setting, value, message):
    with pytest.raises(ConfigError, match=message):
        load({setting: value})


def test_the_smtp_password_is_not_shown_when_the_server_is_printed():
    server = load({"SMTP_URL": "smtp://u:hunter2@mail.example.com"}).smtp_server
    assert "hunter2" not in repr(server)
