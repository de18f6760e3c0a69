"""The KV store on both backends: typed values, overwrite, expiry by the database's clock, purging, tenants.

Time is driven without sleeping: a key is made expired by moving its ``expires_at``
into the past, or a purge is given a ``now`` in the future.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from lanner.engine.shell.kv_purger import run_purger
from lanner.store.database import write_connection
from lanner.store.kv_repository import KVError, KVStore, KVType, java_duration, purge_expired, typed_value
from lanner.store.tables import kv_store

NS = "company.team"


def expire(engine, key, namespace=NS, tenant_id="main"):
    """Move a key's expiry one minute into the past (by the database's clock, whatever this host's)."""
    with write_connection(engine) as connection, connection.begin():
        connection.execute(sa.update(kv_store).where(
            kv_store.c.tenant_id == tenant_id, kv_store.c.namespace == namespace, kv_store.c.key == key,
        ).values(expires_at=sa.func.current_timestamp() - sa.literal(timedelta(minutes=1), sa.Interval())
                 if engine.dialect.name == "postgresql"
                 else sa.func.strftime("%Y-%m-%d %H:%M:%f", "now", "-60 seconds")))


def row_count(engine, tenant_id=None):
    query = sa.select(sa.func.count()).select_from(kv_store)
    if tenant_id is not None:
        query = query.where(kv_store.c.tenant_id == tenant_id)
    with engine.connect() as connection:
        return connection.execute(query).scalar()


# --- set and get ------------------------------------------------------------------------------

def test_set_then_get_and_entry_metadata(engine):
    kv = KVStore(engine)
    assert kv.get(NS, "greeting") is None and kv.entry(NS, "greeting") is None
    kv.set(NS, "greeting", "hello", description="how we greet", ttl=timedelta(hours=1))
    assert kv.get(NS, "greeting") == "hello"
    entry = kv.entry(NS, "greeting")
    assert (entry.namespace, entry.key, entry.value, entry.type, entry.description, entry.version) == (
        NS, "greeting", "hello", KVType.STRING, "how we greet", 1)
    assert entry.updated.tzinfo is UTC and entry.created == entry.updated
    # Both read the database's clock in one statement: exactly the ttl apart (SQLite keeps milliseconds).
    assert abs(entry.expiration - entry.updated - timedelta(hours=1)) < timedelta(milliseconds=2)
    assert abs(entry.updated - datetime.now(UTC)) < timedelta(minutes=5)  # the database and this host agree roughly


def test_overwrite_replaces_value_type_description_and_expiry_and_counts_versions(engine):
    kv = KVStore(engine)
    kv.set(NS, "k", "first", description="old", ttl=timedelta(minutes=5))
    kv.set(NS, "k", 2)
    entry = kv.entry(NS, "k")
    assert (entry.value, entry.type, entry.description, entry.expiration, entry.version) == (
        2, KVType.NUMBER, None, None, 2)


def test_overwrite_false_refuses_a_live_key_naming_it(engine):
    kv = KVStore(engine)
    kv.set(NS, "k", "first")
    with pytest.raises(KVError) as caught:
        kv.set(NS, "k", "second", overwrite=False)
    assert caught.value.message == ("Cannot set the KV key 'k' in the namespace 'company.team': it already "
                                    "exists and overwrite is false")
    assert "overwrite: true" in caught.value.hint
    assert kv.get(NS, "k") == "first"
    kv.set(NS, "new", "v", overwrite=False)  # an absent key is fine
    assert kv.get(NS, "new") == "v"


def test_overwrite_false_takes_the_place_of_an_expired_key_which_starts_over(engine):
    kv = KVStore(engine)
    kv.set(NS, "k", "old", ttl=timedelta(hours=1))
    kv.set(NS, "k", "older", ttl=timedelta(hours=1))
    expire(engine, "k")
    kv.set(NS, "k", "fresh", overwrite=False)
    entry = kv.entry(NS, "k")
    assert (entry.value, entry.expiration, entry.version) == ("fresh", None, 1)


def test_concurrent_writers_with_overwrite_false_have_exactly_one_winner(engine):
    kv = KVStore(engine)
    start = threading.Barrier(4)

    def attempt(index):
        start.wait()
        try:
            kv.set(NS, "lock", f"writer {index}", overwrite=False)
            return index
        except KVError:
            return None

    with ThreadPoolExecutor(4) as pool:
        winners = [index for index in pool.map(attempt, range(4)) if index is not None]
    assert len(winners) == 1
    assert kv.get(NS, "lock") == f"writer {winners[0]}"


# --- expiry and purging -----------------------------------------------------------------------

def test_an_expired_key_is_invisible_before_it_is_purged(engine):
    kv = KVStore(engine)
    kv.set(NS, "short", "v", ttl=timedelta(hours=1))
    kv.set(NS, "long", "v", ttl=timedelta(days=1))
    expire(engine, "short")
    assert kv.get(NS, "short") is None and kv.entry(NS, "short") is None
    assert kv.keys(NS) == ["long"]
    assert row_count(engine) == 2  # still there until purged
    assert kv.delete(NS, "short") is False  # deleting it finds nothing alive, but removes the row
    assert row_count(engine) == 1


def test_purge_deletes_only_what_expired_by_the_databases_clock_or_the_given_time(engine):
    kv = KVStore(engine)
    kv.set(NS, "gone", "v", ttl=timedelta(hours=1))
    kv.set(NS, "hour", "v", ttl=timedelta(hours=1))
    kv.set(NS, "forever", "v")
    expire(engine, "gone")
    assert kv.purge_expired() == 1
    assert kv.keys(NS) == ["forever", "hour"] and row_count(engine) == 2
    assert kv.purge_expired(now=datetime.now(UTC) + timedelta(minutes=30)) == 0
    assert kv.purge_expired(now=datetime.now(UTC) + timedelta(hours=2)) == 1
    assert kv.keys(NS) == ["forever"]


def test_purge_works_in_batches_across_tenants(engine):
    for tenant in ("main", "other"):
        for index in range(5):
            KVStore(engine, tenant).set(NS, f"k{index}", index, ttl=timedelta(minutes=1))
    later = datetime.now(UTC) + timedelta(hours=1)
    assert KVStore(engine, "other").purge_expired(later) == 5  # a store purges its own tenant only
    assert row_count(engine, "main") == 5
    assert purge_expired(engine, later, batch_size=2) == 5
    assert row_count(engine) == 0


def test_a_naive_purge_time_is_taken_as_utc(engine):
    kv = KVStore(engine)
    kv.set(NS, "k", "v", ttl=timedelta(hours=1))
    assert kv.purge_expired(now=datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=2)) == 1


def test_the_purger_purges_until_stopped_and_survives_failures(engine, caplog):
    kv = KVStore(engine)
    kv.set(NS, "k", "v", ttl=timedelta(hours=1))
    expire(engine, "k")
    stop, passes = threading.Event(), []

    def purge(engine_):
        passes.append(len(passes) + 1)
        if len(passes) == 1:
            raise sa.exc.OperationalError("DELETE", {}, Exception("database restarting"))
        deleted = purge_expired(engine_)
        stop.set()  # the second pass is the last: the loop must end without waiting out the interval
        return deleted

    with caplog.at_level(logging.INFO, logger="lanner.engine.shell.kv_purger"):
        run_purger(engine, stop, interval=0, purge=purge)
    assert passes == [1, 2] and row_count(engine) == 0
    messages = [record.getMessage() for record in caplog.records]
    assert messages == ["purging expired KV entries failed; retrying at the next pass",
                        "purged 1 expired KV entries"]


def test_the_purger_stops_promptly_when_asked_during_its_wait(engine):
    stop = threading.Event()
    thread = threading.Thread(target=run_purger, args=(engine, stop, 3600.0))
    thread.start()
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()


# --- keys, delete, tenants --------------------------------------------------------------------

def test_keys_are_sorted_and_filtered_by_an_exact_prefix(engine):
    kv = KVStore(engine)
    for key in ("my_b", "my_a", "myXa", "MY_c", "my.d", "other"):
        kv.set(NS, key, 1)
    kv.set("company.elsewhere", "my_z", 1)
    assert kv.keys(NS) == ["MY_c", "my.d", "myXa", "my_a", "my_b", "other"]
    # "_" is not a wildcard and case matters, even where SQL's LIKE would say otherwise.
    assert kv.keys(NS, "my_") == ["my_a", "my_b"]
    assert kv.keys(NS, "zz") == [] and kv.keys("company.nobody") == []


def test_delete_reports_whether_a_live_key_was_there(engine):
    kv = KVStore(engine)
    kv.set(NS, "k", "v")
    kv.set("company.elsewhere", "k", "kept")
    assert kv.delete(NS, "k") is True
    assert kv.delete(NS, "k") is False
    assert kv.get(NS, "k") is None and kv.get("company.elsewhere", "k") == "kept"


def test_tenants_do_not_see_each_others_keys(engine):
    main, other = KVStore(engine), KVStore(engine, tenant_id="other")
    main.set(NS, "k", "main's")
    other.set(NS, "k", "other's")
    other.set(NS, "only_other", 1)
    assert main.get(NS, "k") == "main's" and other.get(NS, "k") == "other's"
    assert main.keys(NS) == ["k"] and other.keys(NS) == ["k", "only_other"]
    assert main.delete(NS, "only_other") is False
    assert main.delete(NS, "k") is True and other.get(NS, "k") == "other's"


# --- key and namespace rules ------------------------------------------------------------------

@pytest.mark.parametrize(("key", "suggestion"), [
    ("has space", "has_space"), ("a/b", "a_b"), ("_hidden", "hidden"), ("ключ", "my_key"), ("", None),
])
def test_invalid_keys_are_refused_with_the_rule_and_a_suggestion(engine, key, suggestion):
    kv = KVStore(engine)
    for call in (lambda: kv.set(NS, key, "v"), lambda: kv.get(NS, key), lambda: kv.delete(NS, key)):
        with pytest.raises(KVError) as caught:
            call()
        assert caught.value.message.startswith(f"Invalid KV key {key!r}" if not key else f"Invalid KV key '{key}'")
        if suggestion:
            assert caught.value.hint == f"Use a key such as '{suggestion}'."
    assert row_count(engine) == 0


def test_the_longest_key_is_accepted_one_more_is_refused(engine):
    kv = KVStore(engine)
    kv.set(NS, "k" * 255, "v")
    assert kv.keys(NS) == ["k" * 255]
    with pytest.raises(KVError, match="256 characters long, at most 255"):
        kv.set(NS, "k" * 256, "v")


@pytest.mark.parametrize("namespace", ["Company", "", "a b", ".team"])
def test_invalid_namespaces_are_refused(engine, namespace):
    with pytest.raises(KVError, match="Invalid namespace"):
        KVStore(engine).set(namespace, "k", "v")


def test_a_ttl_must_be_positive(engine):
    with pytest.raises(KVError, match="ttl must be positive"):
        KVStore(engine).set(NS, "k", "v", ttl=timedelta(0))


# --- types -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "kv_type", "expected", "expected_type"), [
    ("text", None, "text", KVType.STRING),
    ("42", None, "42", KVType.STRING),  # a string stays a string unless a kvType says otherwise
    (42, None, 42, KVType.NUMBER),
    (1.0, None, 1.0, KVType.NUMBER),  # stays a float on SQLite too
    (2**70, None, 2**70, KVType.NUMBER),  # exact on SQLite too
    (True, None, True, KVType.BOOLEAN),
    ({"a": [1, {"b": None}]}, None, {"a": [1, {"b": None}]}, KVType.JSON),
    ([1, "two"], None, [1, "two"], KVType.JSON),
    ("42", "NUMBER", 42, KVType.NUMBER),
    (" -2.50 ", "number", -2.5, KVType.NUMBER),
    ("1e3", "NUMBER", 1000.0, KVType.NUMBER),
    ("TRUE", "BOOLEAN", True, KVType.BOOLEAN),
    ("false", "BOOLEAN", False, KVType.BOOLEAN),
    ("2024-05-01T10:00:00Z", "DATETIME", "2024-05-01T10:00:00Z", KVType.DATETIME),
    ("2024-05-01T10:00:00+02:00", "DATETIME", "2024-05-01T10:00:00+02:00", KVType.DATETIME),
    ("2024-05-01", "DATE", "2024-05-01", KVType.DATE),
    ("PT90M", "DURATION", "PT1H30M", KVType.DURATION),
    ("P2D", "DURATION", "PT48H", KVType.DURATION),
    ("1h30m", "DURATION", "PT1H30M", KVType.DURATION),
    ('{"a": 1}', "JSON", {"a": 1}, KVType.JSON),
    ("[1, 2]", "JSON", [1, 2], KVType.JSON),
    ({"a": 1}, "JSON", {"a": 1}, KVType.JSON),
    ("7", "JSON", 7, KVType.NUMBER),  # a JSON scalar is typed as what it is, as Kestra does
    ('"x"', "JSON", "x", KVType.STRING),
    (42, "STRING", "42", KVType.STRING),
    ({"a": 1}, "STRING", '{"a":1}', KVType.STRING),
    (True, "STRING", "true", KVType.STRING),
])
def test_values_are_stored_typed_and_read_back_as_such(engine, value, kv_type, expected, expected_type):
    kv = KVStore(engine)
    kv.set(NS, "k", value, kv_type=kv_type)
    entry = kv.entry(NS, "k")
    assert (entry.value, entry.type) == (expected, expected_type)
    assert type(entry.value) is type(expected)
    assert kv.get(NS, "k") == expected


@pytest.mark.parametrize(("value", "kv_type", "expected"), [
    ("cheap", "NUMBER", "'cheap' is not a number such as 42 or 3.5"),
    (True, "NUMBER", "True is not a number"),
    ("yes", "BOOLEAN", "'yes' is not a boolean: true or false"),
    ("2024-05-01", "DATETIME", "'2024-05-01' is not an ISO-8601 date-time"),
    ("yesterday", "DATE", "'yesterday' is not an ISO-8601 date"),
    ("2024-05-01T10:00:00Z", "DATE", "is not an ISO-8601 date such as 2024-05-01"),
    ("5 minutes", "DURATION", "'5 minutes' is not an ISO-8601 duration"),
    ("{not json", "JSON", "'{not json' is not JSON"),
])
def test_a_value_not_matching_its_type_is_refused_naming_key_type_and_value(engine, value, kv_type, expected):
    with pytest.raises(KVError) as caught:
        KVStore(engine).set(NS, "price", value, kv_type=kv_type)
    assert caught.value.message.startswith(f"Cannot store the KV key 'price' as {kv_type}: ")
    assert expected in caught.value.message
    assert row_count(engine) == 0


def test_an_unknown_type_and_a_null_value_are_refused():
    with pytest.raises(KVError, match="Unknown kvType 'INTEGER' for the KV key 'k'"):
        typed_value("k", "1", "INTEGER")
    with pytest.raises(KVError, match="its value is null"):
        typed_value("k", None, None)


@pytest.mark.parametrize(("duration", "text"), [
    (timedelta(0), "PT0S"), (timedelta(seconds=0.25), "PT0.25S"), (timedelta(hours=1, seconds=5), "PT1H5S"),
    (timedelta(days=1, minutes=1), "PT24H1M"), (timedelta(minutes=-90), "PT-1H-30M"),
])
def test_durations_print_as_javas_duration_to_string(duration, text):
    assert java_duration(duration) == text


def test_numbers_json_cannot_hold_are_refused():
    with pytest.raises(KVError, match=r"as NUMBER: nan is not a finite number"):
        typed_value("k", float("nan"), None)
    with pytest.raises(KVError, match=r"as JSON: \{'a': \[inf\]\} is not JSON without NaN or infinite numbers"):
        typed_value("k", {"a": [float("inf")]}, None)
    with pytest.raises(KVError, match=r"as NUMBER: '1e999' is not a finite number"):
        typed_value("k", "1e999", "NUMBER")
