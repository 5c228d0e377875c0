"""Download an `image_url` without letting a caller reach our own network (SSRF). SPEC §7.

Every hop is checked the same way: http/https only; the host is resolved ONCE and every address
it resolves to must be public (loopback, private, link-local incl. 169.254.169.254, CGNAT,
multicast, reserved, unspecified and IPv4-mapped forms are refused) unless it lies in the
operator's IMAGE_URL_ALLOW_NETWORKS. The connection then goes to that checked address: the
URL's host is replaced by the IP and the name travels only in the Host header and as TLS SNI
(certificates are still verified against the name), so a second DNS answer (rebinding) is
never asked for. At most MAX_REDIRECTS redirects, each checked again; IMAGE_URL_TIMEOUT seconds
for everything; the body is streamed and cut off at the upload limit (removal.decode.MAX_BYTES).

Statuses: the caller's URL is wrong or refused → 400; the remote server failed (connection,
TLS, 5xx) → 502; too slow → 504. Nothing is charged for any of them (no credit is reserved yet).
"""

import asyncio
import ipaddress
import posixpath
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

import httpx
from django.conf import settings

from removal.decode import ALLOWED_EXTENSIONS, MAX_BYTES, size_error
from removal.errors import ImageRejected, RemovalError, echo

MAX_REDIRECTS = 3
SCHEMES = ("http", "https")
USER_AGENT = "Cutout image_url fetcher"
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_EXTENSION_BY_TYPE = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp",
                      "image/bmp": "bmp", "image/x-ms-bmp": "bmp"}
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ImageUrlRefused(RemovalError):
    """The URL itself is not acceptable, or the remote answered that it has no such image: a field
    error of `field` (SPEC §1: `details` holds the one entry)."""

    status = 400

    def __init__(self, message: str, *, field: str = "image_url") -> None:
        super().__init__(message, details=[{"field": field, "message": message}])


class ImageUrlUnreachable(RemovalError):
    """The remote server could not be reached or broke off: a bad gateway, from our side."""

    status = 502


class ImageUrlTimeout(RemovalError):
    status = 504


@dataclass(frozen=True)
class Fetched:
    data: bytes
    filename: str  # for the extension check: from the URL path, else from Content-Type


@dataclass(frozen=True)
class _Target:
    url: httpx.URL  # the checked IP in place of the host
    headers: dict[str, str]
    extensions: dict[str, str]


async def image_fetch(*, url: str) -> Fetched:
    """The bytes behind `url`, or one of the errors above with a message for the caller."""
    timeout = settings.IMAGE_URL_TIMEOUT
    try:
        async with asyncio.timeout(timeout):
            return await _follow(url)
    except TimeoutError:
        raise ImageUrlTimeout(f"Downloading image_url took longer than {timeout:g} seconds.") from None


async def pinned_post(url: str, *, body: bytes, headers: dict[str, str], timeout: float,
                      trusted_hosts: tuple[str, ...] = (), field: str = "callback_url") -> int:
    """POST `body` to `url` connecting to the address checked for it (no second DNS lookup, no
    redirect followed): the HTTP status. ImageUrlRefused when the URL or its address is refused;
    httpx errors when the receiver does not answer."""
    target = await _target(url, trusted_hosts=trusted_hosts, field=field)
    sent = {"Host": target.headers["Host"], "User-Agent": headers.get("User-Agent", USER_AGENT)} | headers
    async with http_client() as client:
        response = await client.post(target.url, content=body, headers=sent, extensions=target.extensions,
                                     timeout=timeout)
    return response.status_code


def http_client() -> httpx.AsyncClient:
    """No proxies from the environment, no automatic redirects (each hop is checked here);
    certificates verified against the URL's name (tests pass their own CA)."""
    return httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=None)


async def _follow(url: str) -> Fetched:
    async with http_client() as client:
        for _hop in range(MAX_REDIRECTS + 1):
            target = await _target(url)
            async with _stream(client, target) as response:
                if not response.is_redirect:
                    _status_check(response)
                    data = await _body_read(response)
                    return Fetched(data=data, filename=_filename(url, response.headers.get("content-type")))
                url = _redirect_location(response, url)
    raise ImageUrlRefused(f"image_url redirected more than {MAX_REDIRECTS} times.")


def _stream(client: httpx.AsyncClient, target: _Target):
    return _TransportErrors(client.stream("GET", target.url, headers=target.headers,
                                          extensions=target.extensions))


class _TransportErrors:
    """`client.stream(...)` with httpx's transport failures turned into our 502."""

    def __init__(self, context) -> None:
        self.context = context

    async def __aenter__(self) -> httpx.Response:
        try:
            return await self.context.__aenter__()
        except httpx.ConnectError as exc:
            raise ImageUrlUnreachable("Could not connect to the server of image_url.") from exc
        except httpx.HTTPError as exc:
            raise ImageUrlUnreachable("The server of image_url did not answer properly.") from exc

    async def __aexit__(self, *exc_info) -> None:
        await self.context.__aexit__(*exc_info)


# --- one hop: parse, resolve once, check, pin -------------------------------------------------


def _url_parts(url: str) -> tuple[SplitResult, str, str, int]:
    """The URL's parts, scheme, host and port, or ImageUrlRefused for a URL of the wrong form."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ImageUrlRefused(f"image_url must be an http or https URL, got: '{echo(scheme or url)}'")
    if parts.username is not None or parts.password is not None:
        raise ImageUrlRefused("image_url must not contain a user name or password.")
    host = parts.hostname
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        port = None
    if not host or port is None:
        raise ImageUrlRefused("image_url is not a valid URL.")
    return parts, scheme, host, port


def image_url_form_error(url: str) -> str | None:
    """Why `url` cannot be an image_url at all (scheme, credentials, host), without resolving it;
    batch jobs check this at submission, the addresses when a worker downloads it."""
    try:
        _url_parts(url)
    except ImageUrlRefused as exc:
        return exc.message
    return None


async def _target(url: str, *, trusted_hosts: tuple[str, ...] = (), field: str = "image_url") -> _Target:
    """The URL pinned to the one address its host resolved to (checked, unless the host is one the
    operator trusts by name: `trusted_hosts`)."""
    parts, scheme, host, port = _url_parts(url)
    address = await address_checked(host, port, field=field, trusted=host in trusted_hosts)
    pinned = httpx.URL(parts._replace(scheme=scheme).geturl()).copy_with(host=str(address))
    headers = {"Host": parts.netloc.rpartition("@")[2], "User-Agent": USER_AGENT,
               "Accept": "image/webp,image/png,image/jpeg,image/bmp,image/*;q=0.8",
               "Accept-Encoding": "identity"}  # the cap counts the bytes we keep: no gzip bombs
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    return _Target(url=pinned, headers=headers, extensions=extensions)


async def address_resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (numeric forms such as 0x7f000001 included).

    The one DNS lookup of a hop; tests replace it to simulate names that resolve privately.
    """
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def address_checked(host: str, port: int, *, field: str = "image_url",
                          trusted: bool = False) -> IpAddress:
    """The one address `host` is reached at, after checking every address it resolves to: public, or
    in IMAGE_URL_ALLOW_NETWORKS, or the host is one the operator trusts by name. ImageUrlRefused
    (a field error of `field`) otherwise. The one rule for image_url, batch URLs and webhooks."""
    try:
        addresses = await address_resolve(host, port)
    except (OSError, UnicodeError):
        addresses = []
    if not addresses:
        raise ImageUrlRefused(f"Could not resolve the host of {field}: '{host}'", field=field)
    checked = [ipaddress.ip_address(address.split("%", 1)[0]) for address in addresses]
    for address in checked:  # one bad address refuses the name: we must not pick among them
        refusal = None if trusted else address_refusal(address, field=field)
        if refusal is not None:
            raise ImageUrlRefused(refusal, field=field)
    return checked[0]


def address_refusal(address: IpAddress, *, field: str = "image_url") -> str | None:
    """Why `address` may not be reached, or None when it may."""
    if _operator_allowed(address):
        return None
    kind = address_kind(address)
    if kind is None:
        return None
    article = "an" if kind[0] in "aeiouIU" else "a"
    return f"{field} points to {article} {kind} address ({_shown(address)}), which is not allowed."


def _shown(address: IpAddress) -> str:
    mapped = getattr(address, "ipv4_mapped", None)
    return f"::ffff:{mapped}" if mapped is not None else str(address)  # not ::ffff:7f00:1


def _operator_allowed(address: IpAddress) -> bool:
    networks = [ipaddress.ip_network(net, strict=False) for net in settings.IMAGE_URL_ALLOW_NETWORKS]
    return any(address.version == net.version and address in net for net in networks)


def address_kind(address: IpAddress) -> str | None:
    """What makes `address` non-public ("loopback", "private", "IPv4-mapped loopback"…), or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        inner = address_kind(address.ipv4_mapped)
        return f"IPv4-mapped {inner or 'IPv6'}"  # ::ffff:a.b.c.d is never needed for a public host
    checks = (("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
              ("link-local", address.is_link_local), ("multicast", address.is_multicast),
              ("shared (CGNAT)", address in _CGNAT), ("reserved", address.is_reserved),
              ("private", address.is_private), ("non-public", not address.is_global))
    return next((kind for kind, matches in checks if matches), None)


# --- the answer -------------------------------------------------------------------------------


def _redirect_location(response: httpx.Response, url: str) -> str:
    location = response.headers.get("location")
    if not location:
        raise ImageUrlUnreachable(f"image_url answered HTTP {response.status_code} without a Location.")
    return urljoin(url, location)


def _status_check(response: httpx.Response) -> None:
    code = response.status_code
    if 200 <= code < 300:
        return
    status = f"{code} {response.reason_phrase}".rstrip()
    message = f"image_url answered HTTP {status}; no image was downloaded."
    raise (ImageUrlUnreachable if code >= 500 else ImageUrlRefused)(message)


def _too_big(size: int) -> ImageRejected:
    error = size_error(size)
    assert error is not None  # size > MAX_BYTES
    return error


async def _body_read(response: httpx.Response) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise _too_big(int(declared))
    body = bytearray()
    try:
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > MAX_BYTES:
                raise _too_big(len(body))  # an endless body stops here, at the upload limit
    except httpx.HTTPError as exc:
        raise ImageUrlUnreachable("The download of image_url broke off.") from exc
    return bytes(body)


def _filename(url: str, content_type: str | None) -> str:
    name = posixpath.basename(unquote(urlsplit(url).path))
    if posixpath.splitext(name)[1].lower().lstrip(".") in ALLOWED_EXTENSIONS:
        return name
    by_type = _EXTENSION_BY_TYPE.get((content_type or "").split(";")[0].strip().lower())
    return f"image.{by_type}" if by_type else name or "image"
