"""Webhook delivery cannot be turned against the platform's own network (issue 18, hole 4).

An admin chooses the URL, so the delivery resolves it, refuses any address that is
not globally routable unless config allow-lists it, connects to the address it
checked, follows no redirect, gives up at a total deadline, and stores an error
that does not tell an open port from a closed one.
"""

from __future__ import annotations

import socket

import pytest

from analyses import tasks
from analyses.models import Alert, AlertKind, Delivery, Severity
from tests.analyses.alerting_helpers import alerts_override, self_signed_certificate
from tests.analyses.helpers import make_analysis
from tests.conftest import free_port

pytestmark = pytest.mark.django_db

NOT_ALLOWED = "could not deliver: the address is not allowed"
UNREACHABLE = "could not deliver: the receiver refused, was unreachable or did not answer in time"


@pytest.fixture(autouse=True)
def one_quick_attempt(settings) -> None:  # noqa: ANN001
    """One attempt of at most a second: each test looks at that one attempt."""
    alerts_override(settings, webhook_max_attempts=1, webhook_timeout_seconds=1)


@pytest.fixture
def alert(team_a, alice, tmp_path) -> Alert:
    analysis = make_analysis(team_a, alice, tmp_path)
    return Alert.objects.create(
        team=team_a,
        analysis=analysis,
        kind=AlertKind.ERROR_COUNT,
        value=120,
        threshold=100,
        severity=Severity.WARNING,
        message="120 errors, above 100",
    )


def deliver(alert: Alert, url: str) -> Delivery:
    """One run of the queued task, as a notifications worker would run it."""
    delivery = Delivery.objects.create(alert=alert, channel=Delivery.Channel.WEBHOOK, target=url)
    tasks.deliver_notification(delivery.pk)
    delivery.refresh_from_db()
    return delivery


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",  # a name that resolves to loopback
        "127.1",  # the short and the decimal forms resolve to 127.0.0.1 too
        "2130706433",
        "0.0.0.0",  # connecting to "any" reaches this host on Linux
        "[::ffff:127.0.0.1]",  # IPv4-mapped IPv6
    ],
)
def test_it_refuses_loopback_without_connecting(alert, listener, host):
    inside = listener("127.0.0.1")
    delivery = deliver(alert, f"http://{host}:{inside.port}/hook")
    assert inside.accepted == 0
    assert delivery.state == Delivery.State.FAILED
    assert delivery.last_error == NOT_ALLOWED


def test_it_refuses_ipv6_loopback_without_connecting(alert, listener):
    inside = listener("::1")
    delivery = deliver(alert, inside.url())
    assert inside.accepted == 0
    assert delivery.last_error == NOT_ALLOWED


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "224.0.0.1",  # multicast
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "[fe80::1]",
        "[fc00::1]",
        "[::]",
        "[64:ff9b::a00:1]",  # NAT64 of 10.0.0.1
        "[2002:a00:1::]",  # 6to4 of 10.0.0.1
    ],
)
def test_it_refuses_private_link_local_multicast_and_reserved_addresses(alert, host):
    delivery = deliver(alert, f"http://{host}:8080/hook")
    assert delivery.state == Delivery.State.FAILED
    assert delivery.last_error == NOT_ALLOWED
    (attempt,) = delivery.attempt_log.all()
    assert attempt.error == NOT_ALLOWED and not attempt.ok


def test_the_allow_list_admits_only_its_networks(alert, allow_loopback, receiver, listener):
    hook = receiver([200])
    assert deliver(alert, hook.url).state == Delivery.State.SENT
    beside = listener("127.0.0.2")  # loopback too, but not in 127.0.0.1/32
    assert deliver(alert, beside.url()).last_error == NOT_ALLOWED
    assert beside.accepted == 0


def test_a_redirect_is_not_followed(alert, allow_loopback, receiver, listener):
    inside = listener("127.0.0.2")
    hook = receiver([302], headers={"Location": inside.url()})
    delivery = deliver(alert, hook.url)
    assert inside.accepted == 0
    assert len(hook.bodies) == 1
    assert delivery.state == Delivery.State.FAILED
    assert delivery.last_error == "HTTP 302 (redirects are not followed)"


def test_an_open_a_silent_and_a_closed_port_give_the_same_error(alert, allow_loopback, listener):
    """The stored error is what an admin sees: it must not map the internal network."""
    hangs_up = listener(mode="close")
    silent = listener(mode="silent")
    closed = f"http://127.0.0.1:{free_port()}/hook"
    deliveries = [deliver(alert, url) for url in (hangs_up.url(), silent.url(), closed)]
    assert [d.last_error for d in deliveries] == [UNREACHABLE] * 3
    errors = [a.error for d in deliveries for a in d.attempt_log.all()]
    assert errors == [UNREACHABLE] * 3


def test_an_unknown_host_gives_the_same_error(alert):
    assert deliver(alert, "http://no-such-host.invalid/hook").last_error == UNREACHABLE


def test_the_deadline_ends_a_receiver_that_trickles(alert, allow_loopback, listener):
    """A byte every 0.1 s never trips a socket timeout of 1 s; only a total deadline ends it."""
    slow = listener(mode="trickle", interval=0.1, trickle_seconds=15)
    delivery = deliver(alert, slow.url())
    assert not slow.trickle_finished.is_set()
    assert delivery.state == Delivery.State.FAILED
    assert delivery.last_error == UNREACHABLE


def test_the_request_goes_to_the_checked_address_with_the_original_host(
    alert, allow_loopback, receiver, listener, monkeypatch
):
    """DNS rebinding: the name resolves to an allowed address when checked and to a
    refused one afterwards; the delivery must connect to the address it checked."""
    hook = receiver([200])
    inside = listener("127.0.0.2")
    port = hook.server.server_address[1]
    answers = iter(["127.0.0.1"] + ["127.0.0.2"] * 10)
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        if host == "rebind.example.com":
            return real(next(answers), *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    delivery = deliver(alert, f"http://rebind.example.com:{port}/hook")
    assert delivery.state == Delivery.State.SENT
    assert inside.accepted == 0
    assert hook.requests[0]["Host"] == f"rebind.example.com:{port}"


def test_https_goes_to_the_checked_address_and_checks_the_certificate_of_the_name(
    alert, allow_loopback, receiver, tmp_path, monkeypatch
):
    cert, key = self_signed_certificate(tmp_path, "localhost")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test's certificate, as a CA
    hook = receiver([200, 200], tls=(cert, key))
    delivery = deliver(alert, f"https://localhost:{hook.port}/hook")
    assert delivery.state == Delivery.State.SENT
    assert hook.server_names == ["localhost"]
    assert hook.requests[0]["Host"] == f"localhost:{hook.port}"
    # The same receiver by its address: the certificate does not name 127.0.0.1.
    by_address = deliver(alert, f"https://127.0.0.1:{hook.port}/hook")
    assert by_address.last_error == UNREACHABLE
    assert len(hook.bodies) == 1


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://example.com/"])
def test_only_http_and_https_are_sent(alert, url):
    delivery = deliver(alert, url)
    assert delivery.state == Delivery.State.FAILED
    assert delivery.last_error == NOT_ALLOWED
