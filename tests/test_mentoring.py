"""Mentoring's data: a trainee flag and an assigned mentor on an agent's account, stored, listed and audited (the
routing of a share of the trainee's calls to the mentor's silent monitoring is the telephony's, not here)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

import cli
from dialer.service.users import Role, UserError, add_user, list_users, set_trainee
from lists.companies import add_company

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _people(session) -> None:
    add_company(session, "initech", T0)
    for name, role, company in (("tom", Role.AGENT, "default"), ("sue", Role.SUPERVISOR, "default"),
                                ("ana", Role.ANALYST, "default"), ("ivy", Role.SUPERVISOR, "initech")):
        add_user(session, name, role, T0, companies=(company,))


def test_a_trainee_works_under_a_mentor_of_their_company(store):
    with store() as session:
        _people(session)
        set_trainee(session, "tom", "sue")
        session.commit()
        shown = {u.name: (u.trainee, u.mentor) for u in list_users(session, T0)}
        assert shown["tom"] == (True, "sue") and shown["sue"] == (False, None)
        for name, mentor, words in (("tom", "ivy", "none of 'tom'"), ("tom", "ana", "a mentor is an agent"),
                                    ("tom", "tom", "nobody mentors themselves"), ("sue", "tom", "only agents")):
            with pytest.raises(UserError, match=words):
                set_trainee(session, name, mentor)
        set_trainee(session, "tom", None)
        session.commit()
        assert {u.name: (u.trainee, u.mentor) for u in list_users(session, T0)}["tom"] == (False, None)


def test_the_cli_marks_a_trainee_lists_them_and_audits_it(tmp_path):
    url = ["--database-url", f"sqlite:///{tmp_path / 'm.db'}"]
    runner = CliRunner()
    for name, role in (("tom", "agent"), ("sue", "supervisor")):
        assert runner.invoke(cli.main, ["users", "add", name, "--role", role, *url]).exit_code == 0
    made = runner.invoke(cli.main, ["users", "trainee", "tom", "--mentor", "sue", *url])
    assert made.exit_code == 0 and "tom is a trainee under sue" in made.output
    listed = runner.invoke(cli.main, ["users", "list", *url]).output
    assert "trainee of sue" in next(line for line in listed.splitlines() if line.startswith("tom"))
    assert runner.invoke(cli.main, ["users", "trainee", "tom", *url]).exit_code == 2  # --mentor or --off
    assert runner.invoke(cli.main, ["users", "trainee", "tom", "--off", *url]).exit_code == 0
    assert "trainee" not in runner.invoke(cli.main, ["users", "list", *url]).output
    trail = runner.invoke(cli.main, ["audit", *url]).output
    assert "trainee=tom" in trail and "mentor=sue" in trail
