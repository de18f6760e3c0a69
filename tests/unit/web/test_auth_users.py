"""The basic-auth user of the setup page: Kestra's rules, the stored hash, the session key derived from it."""

from __future__ import annotations

import json

import pytest

from lanner.config.settings import BasicAuth
from lanner.web.auth_users import (
    ConfiguredCredentials,
    StoredCredentials,
    UserExists,
    UserSource,
    create,
    new_record,
    problems,
    stored,
)


def test_kestra_rules_email_user_and_a_password_with_8_characters_lower_upper_and_digit():
    assert problems("admin@example.com", "Abcdefg1") == []
    assert problems("first.last+tag@sub.example.org", "Xx1xxxxxxx") == []
    assert problems("admin", "Abcdefg1") == [
        "the user name must be an email address, e.g. admin@example.com (got 'admin')"]
    assert problems("a@b", "abcdefgh") == [("the password must have at least 8 characters, with a lower-case "
                                            "letter, an upper-case letter and a digit (it lacks an upper-case "
                                            "letter, a digit)")]
    assert problems("a@b", "") == ["the password is missing"]


def test_the_stored_record_holds_a_salted_hash_never_the_password():
    one, two = new_record("a@b.c", "Secr3tPassword"), new_record("a@b.c", "Secr3tPassword")
    assert "Secr3tPassword" not in json.dumps(one)
    assert one["salt"] != two["salt"] and one["hash"] != two["hash"]  # salted
    credentials = StoredCredentials(one)
    assert credentials.valid(b"a@b.c", b"Secr3tPassword")
    assert credentials.valid(b"a@b.c", b"Secr3tPassword")  # remembered: no second scrypt
    assert not credentials.valid(b"a@b.c", b"Secr3tPassworD")
    assert not credentials.valid(b"x@b.c", b"Secr3tPassword")


def test_sessions_are_signed_with_a_key_derived_from_the_stored_user():
    record = new_record("a@b.c", "Secr3tPassword")
    cookie = StoredCredentials(record).session(now=1000.0)
    assert StoredCredentials(dict(record)).session_valid(cookie, now=1001.0)  # another webserver, same record
    assert not StoredCredentials(new_record("a@b.c", "Secr3tPassword")).session_valid(cookie, now=1001.0)
    assert not ConfiguredCredentials(BasicAuth(enabled=True, username="a@b.c", password="Secr3tPassword")
                                     ).session_valid(cookie, now=1001.0)


@pytest.fixture
def engine(sqlite_url):
    from lanner.store.schema_guard import prepare_database
    from tests.helpers import config_for

    engine = prepare_database(config_for(sqlite_url), may_migrate=True)
    yield engine
    engine.dispose()


def test_the_user_is_created_once(engine):
    create(engine, "a@b.c", "Secr3tPassword")
    with pytest.raises(UserExists):
        create(engine, "other@b.c", "Secr3tPassword2")
    assert stored(engine)["username"] == "a@b.c"


def test_the_source_prefers_configured_credentials_and_sees_a_new_user(engine):
    pending = UserSource(BasicAuth(enabled=True), engine)
    assert pending.current() is None and not pending.configured
    create(engine, "a@b.c", "Secr3tPassword")
    pending.created()
    assert pending.current().username == "a@b.c"
    configured = UserSource(BasicAuth(enabled=True, username="ops", password="pw"), engine)
    assert configured.configured and configured.current().username == "ops"
