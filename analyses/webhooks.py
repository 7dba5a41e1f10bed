"""An HTTP client for alert webhooks that cannot be aimed at the platform's own network.

A team admin chooses the URL, so a plain HTTP client would let them make the
worker talk to anything it can reach: Spark Connect, PostgreSQL, the cluster's
UIs, a cloud metadata service. So this client

- accepts http and https only;
- resolves the name once, and refuses the URL if ANY address it resolves to is
  not globally routable (loopback, private, link-local, multicast, reserved,
  unspecified, and IPv4 hidden in IPv6), unless an operator allow-listed its
  network (`alerts.webhook_allow_networks`, for tests and on-premise receivers);
- connects to the address it checked, never to a second lookup of the name (DNS
  rebinding), while sending the original Host header and checking TLS against
  the name;
- follows no redirect (the caller sees the 3xx);
- ends every attempt at a total deadline (name lookup, connect, TLS, send and
  the answer's head): a socket timeout bounds each read, not a receiver that
  trickles a byte at a time;
- reads the status and headers only, never the body;
- does not use HTTP(S)_PROXY: the check is about where the request goes.

Errors carry two texts: `public`, which is all an admin is shown and does not
tell an open port from a closed one, and the exception's own message, which is
for the server log only. Nothing here imports Django.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

NOT_ALLOWED = "could not deliver: the address is not allowed"
UNREACHABLE = "could not deliver: the receiver refused, was unreachable or did not answer in time"
SCHEMES = {"http": 80, "https": 443}
# Well-known IPv6 prefixes that carry an IPv4 address a gateway may forward to.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class WebhookError(Exception):
    """A failed delivery. `public` is safe to show; str(self) is for the server log."""

    public = UNREACHABLE


class AddressNotAllowed(WebhookError):
    public = NOT_ALLOWED


class ReceiverUnreachable(WebhookError):
    public = UNREACHABLE


def networks_parse(values: Iterable[str]) -> tuple[Network, ...]:
    """The allow-list from config (validated at start-up, so this does not fail there)."""
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _routable(address: IPAddress) -> bool:
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_private
    )


def address_allowed(address: IPAddress, allow: tuple[Network, ...]) -> bool:
    """True for a globally routable address, or one inside an allow-listed network."""
    if any(address.version == net.version and address in net for net in allow):
        return True
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:10.0.0.1 is 10.0.0.1 to the kernel
            return address_allowed(address.ipv4_mapped, allow)
        embedded = _embedded_ipv4(address)
        if embedded is not None and not address_allowed(embedded, allow):
            return False
    return _routable(address)


def _literal_address(host: str) -> IPAddress | None:
    """The address a host name stands for without any lookup: IP literals, including
    the short and numeric IPv4 forms the C resolver accepts ("127.1", "2130706433")."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, UnicodeError, ValueError):
        return None


def url_problem(url: str, allow: tuple[Network, ...]) -> str | None:
    """What is wrong with a webhook URL that can be told without a DNS lookup (a check
    at save time; the lookup at delivery time is the one that counts, since a name's
    addresses may change), or None."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        return "only http and https URLs with a host name are accepted"
    host = parts.hostname.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        loopback = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
        return None if all(address_allowed(a, allow) for a in loopback) else "it names this host"
    literal = _literal_address(host)
    if literal is not None and not address_allowed(literal, allow):
        return "it is an address on this host or a private, link-local or reserved network"
    return None


class _Deadline:
    """Cuts the connection when the attempt's time is up, whatever it is blocked in.

    It shuts the socket down through a duplicate descriptor, so it works also while
    TLS has taken over the original socket object during the handshake."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._shadow: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            if self._shadow is not None:
                self._shadow.close()
                self._shadow = None

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0 or self.expired:
            raise ReceiverUnreachable("the attempt's deadline passed")
        return left

    def stop(self) -> bool:
        """Disarm; True if the deadline had already cut the connection (a cut read
        can look like a complete answer to http.client: an early end of headers)."""
        with self._lock:
            self._timer.cancel()
            return self.expired

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            if self.expired:
                sock.close()
                raise ReceiverUnreachable("the attempt's deadline passed while connecting")
            if self._shadow is not None:
                self._shadow.close()
            self._shadow = sock.dup()

    def _cut(self) -> None:
        with self._lock:
            self.expired = True
            if self._shadow is not None:
                try:
                    self._shadow.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _resolve(host: str, port: int, deadline: _Deadline) -> list[IPAddress]:
    """Every address of the name, looked up in a thread so the deadline bounds a slow
    resolver too (the thread is left to finish on its own)."""
    found: list[object] = []

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            found.append(exc)

    thread = threading.Thread(target=lookup, daemon=True, name="webhook-dns")
    thread.start()
    thread.join(deadline.remaining())
    if not found:
        raise ReceiverUnreachable(f"looking up {host!r} took longer than the deadline")
    if isinstance(found[0], Exception):
        raise ReceiverUnreachable(f"cannot resolve {host!r}: {found[0]}")
    addresses: list[IPAddress] = []
    for info in found[0]:  # type: ignore[union-attr]
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _connection(
    scheme: str, host: str, port: int, address: IPAddress, deadline: _Deadline
) -> http.client.HTTPConnection:
    """An http.client connection to `host` that opens its socket to `address`."""
    if scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=deadline.remaining(), context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(host, port, timeout=deadline.remaining())

    def create_connection(_address, timeout=None, source_address=None) -> socket.socket:  # noqa: ANN001
        sock = socket.create_connection((str(address), port), deadline.remaining(), source_address)
        deadline.attach(sock)
        return sock

    # http.client opens its socket through this attribute (also for HTTPS, which
    # then wraps it with TLS for `host`): the one seam to pin the checked address.
    conn._create_connection = create_connection  # type: ignore[attr-defined]
    return conn


def webhook_post(
    *, url: str, body: bytes, headers: dict[str, str], deadline_seconds: float, allow: tuple[Network, ...]
) -> int:
    """POST `body` to `url`; return the HTTP status (a 3xx is returned, not followed).

    Raises AddressNotAllowed or ReceiverUnreachable."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise AddressNotAllowed(f"scheme {parts.scheme!r} of {url!r} is not http(s)")
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError as exc:
        raise AddressNotAllowed(f"bad port in {url!r}: {exc}") from None
    host = parts.hostname
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    with _Deadline(deadline_seconds) as deadline:
        addresses = _resolve(host, port, deadline)
        refused = [str(a) for a in addresses if not address_allowed(a, allow)]
        if refused:
            raise AddressNotAllowed(f"{host!r} resolves to {', '.join(refused)}")
        failures: list[str] = []
        for address in addresses:
            conn = _connection(parts.scheme, host, port, address, deadline)
            try:
                try:
                    conn.connect()
                except (OSError, http.client.HTTPException) as exc:
                    failures.append(f"{address}: {type(exc).__name__}: {exc}")
                    continue  # another address of the name may answer
                try:
                    conn.request("POST", path, body=body, headers={**headers, "Connection": "close"})
                    status = conn.getresponse().status
                    if deadline.stop():
                        raise ReceiverUnreachable(f"{host} ({address}:{port}): deadline")
                    return status
                except (OSError, http.client.HTTPException) as exc:
                    cause = "deadline" if deadline.expired else f"{type(exc).__name__}: {exc}"
                    raise ReceiverUnreachable(f"{host} ({address}:{port}): {cause}") from None
            finally:
                conn.close()
        if deadline.expired:
            failures.append("deadline")
        raise ReceiverUnreachable(f"{host}:{port}: " + "; ".join(failures or ["no address"]))
