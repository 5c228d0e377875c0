import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list


@pytest.mark.parametrize("raw,expected", [("true", True), ("ON", True), ("0", False), ("no", False)])
def test_it_reads_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG") is expected


def test_it_refuses_a_bad_boolean(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG must be a boolean"):
        env_bool("X_FLAG")


def test_it_refuses_a_bad_integer(monkeypatch):
    monkeypatch.setenv("X_NUM", "12abc")
    with pytest.raises(ImproperlyConfigured, match="X_NUM must be an integer"):
        env_int("X_NUM", 3)


def test_it_refuses_an_integer_below_minimum(monkeypatch):
    monkeypatch.setenv("X_NUM", "-1")
    with pytest.raises(ImproperlyConfigured, match="at least 0"):
        env_int("X_NUM", 3, minimum=0)


def test_it_uses_defaults_when_unset(monkeypatch):
    monkeypatch.delenv("X_NUM", raising=False)
    monkeypatch.delenv("X_LIST", raising=False)
    assert env_int("X_NUM", 7) == 7
    assert env_list("X_LIST", ["a"]) == ["a"]


def test_it_splits_lists(monkeypatch):
    monkeypatch.setenv("X_LIST", " a.example , b.example,, ")
    assert env_list("X_LIST") == ["a.example", "b.example"]
