import pytest

from accounts.services import client_ip


def test_it_uses_remote_addr_without_forwarded_for(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    assert client_ip(remote_addr="198.51.100.9", forwarded_for=None) == "198.51.100.9"


def test_it_ignores_forwarded_for_from_an_untrusted_peer(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    assert client_ip(remote_addr="198.51.100.9", forwarded_for="1.2.3.4") == "198.51.100.9"


def test_it_ignores_forwarded_for_when_no_proxy_is_trusted(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(remote_addr="10.0.0.1", forwarded_for="1.2.3.4") == "10.0.0.1"


def test_it_takes_the_rightmost_untrusted_hop_from_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1", "10.0.0.2"]
    # The client forged "6.6.6.6"; our proxies appended the real client and then each other.
    forwarded = "6.6.6.6, 1.2.3.4, 10.0.0.2"
    assert client_ip(remote_addr="10.0.0.1", forwarded_for=forwarded) == "1.2.3.4"


def test_it_accepts_networks_in_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = ["172.16.0.0/12"]
    assert client_ip(remote_addr="172.18.0.5", forwarded_for="1.2.3.4, 172.18.0.9") == "1.2.3.4"


def test_it_handles_ipv6(settings):
    settings.TRUSTED_PROXIES = ["::1"]
    assert client_ip(remote_addr="::1", forwarded_for="2001:db8::7") == "2001:db8::7"


def test_it_falls_back_to_the_peer_when_a_hop_is_not_an_address(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    assert client_ip(remote_addr="10.0.0.1", forwarded_for="1.2.3.4, unknown") == "10.0.0.1"


def test_it_takes_the_leftmost_hop_when_every_hop_is_trusted(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(remote_addr="10.0.0.1", forwarded_for="10.1.1.1, 10.2.2.2") == "10.1.1.1"


@pytest.mark.parametrize("forwarded", ["", " , "])
def test_it_uses_the_peer_for_an_empty_header(settings, forwarded):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    assert client_ip(remote_addr="10.0.0.1", forwarded_for=forwarded) == "10.0.0.1"
