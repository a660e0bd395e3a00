"""Web conventions of the API: HEAD, gzip, CORS, GeoJSON media type, ETag/Cache-Control.

- **HEAD** is answered on every GET route: the request runs as a GET and
  the body is dropped (headers, including ``Content-Length``, are kept).
- **Range**: a single byte range of a GET body (206), so GDAL's
  ``/vsicurl/`` and QGIS's HTTP(S) vector source can read a URL.
- **gzip** (Starlette's ``GZipMiddleware``) for bodies of 1 KiB and more when
  the client sends ``Accept-Encoding: gzip``; streamed bodies are
  compressed chunk by chunk.
- **CORS** from ``GRIDGEO_CORS_ORIGINS`` (``*`` by default, empty = off);
  preflight ``OPTIONS`` requests are answered.
- **ETag/Cache-Control** on boundary reads: the tag is derived from the
  generation served and the request's path and query, so it changes when a
  new generation is published; ``If-None-Match`` gives 304.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridgeo.settings import Settings

GZIP_MINIMUM_BYTES = 1024
MAX_AGE_SECONDS = 60


class GeoJSONResponse(JSONResponse):
    """A JSON response served as ``application/geo+json`` (RFC 7946)."""

    media_type = "application/geo+json"


class HeadAsGetMiddleware:
    """Answer ``HEAD`` on GET routes: run the GET and drop the body.

    Parameters
    ----------
    app : ASGI application
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def send_headers_only(message: Message) -> None:
            nonlocal finished
            if message["type"] == "http.response.body":
                if finished or message.get("more_body", False):
                    return
                finished = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


def _byte_range(header: str, total: int) -> tuple[int, int] | None:
    """Resolve one ``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` range; ``None`` if unsatisfiable."""
    first, _, last = header.strip()[len("bytes=") :].partition("-")
    if not first:  # suffix: the last n bytes
        n = int(last)
        return (max(total - n, 0), total - 1) if n > 0 and total > 0 else None
    start = int(first)
    end = min(int(last), total - 1) if last else total - 1
    return (start, end) if start <= end else None


RANGE_PATTERN = re.compile(r"^\s*bytes=(\d+-\d*|-\d+)\s*$")


class ByteRangeMiddleware:
    """Serve a single ``Range: bytes=…`` of a 200 GET response (206/416).

    GDAL's ``/vsicurl/`` (QGIS's "HTTP(S)" vector source) reads a URL in
    ranges and gives up on servers that ignore them. A ranged request is
    served without gzip; responses that are not 200 or already ranged
    (files) pass through unchanged; multi-range requests get the whole body
    (allowed by RFC 9110).

    Parameters
    ----------
    app : ASGI application
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        wanted = ""
        if scope["type"] == "http" and scope["method"] == "GET":
            wanted = dict(scope["headers"]).get(b"range", b"").decode("latin-1")
        if not RANGE_PATTERN.match(wanted):
            await self.app(scope, receive, send)
            return
        start_message: Message | None = None
        chunks: list[bytes] = []
        passthrough = False

        async def buffer(message: Message) -> None:
            nonlocal start_message, passthrough
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                if (
                    message["status"] != 200
                    or b"content-encoding" in names
                    or b"content-range" in names
                ):
                    passthrough = True
                    await send(message)
                else:
                    start_message = message
                return
            if passthrough or start_message is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = [
                (k, v)
                for k, v in start_message.get("headers", [])
                if k.lower() not in (b"content-length", b"accept-ranges")
            ]
            found = _byte_range(wanted, len(body))
            if found is None:
                status, part = 416, b""
                headers.append((b"content-range", f"bytes */{len(body)}".encode()))
            else:
                status, part = 206, body[found[0] : found[1] + 1]
                headers.append(
                    (b"content-range", f"bytes {found[0]}-{found[1]}/{len(body)}".encode())
                )
            headers += [(b"content-length", str(len(part)).encode()), (b"accept-ranges", b"bytes")]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": part, "more_body": False})

        # a ranged request is served uncompressed: ranges of the identity body
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]
        await self.app({**scope, "headers": headers}, receive, buffer)


def install_web_conventions(app: FastAPI, settings: Settings) -> None:
    """Add gzip, HEAD and CORS middleware to ``app`` (outermost: CORS).

    Parameters
    ----------
    app : fastapi.FastAPI
    settings : Settings
        ``cors_origins`` selects the allowed origins.
    """
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)
    app.add_middleware(ByteRangeMiddleware)
    app.add_middleware(HeadAsGetMiddleware)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match", "Accept"],
            expose_headers=["ETag", "Content-Crs", "Link"],
            allow_credentials=False,
            max_age=600,
        )


def generation_etag(request: Request, generation_id: int, status: str = "published") -> str | None:
    """A weak ETag for a boundary read: the generation plus the path and query.

    Only published and superseded generations are immutable; a draft can be
    repaired in place, so its reads get no tag.

    Parameters
    ----------
    request : fastapi.Request
    generation_id : int
        The generation whose content the response shows.
    status : str
        Its status.

    Returns
    -------
    str or None
        ``W/"g<id>-<hash>"``, or ``None`` for a draft or validated generation.
    """
    if status not in ("published", "superseded"):
        return None
    query = "&".join(sorted(request.url.query.split("&")))
    digest = hashlib.sha256(f"{request.url.path}?{query}".encode()).hexdigest()[:16]
    return f'W/"g{generation_id}-{digest}"'


def cache_headers(request: Request, etag: str | None) -> dict[str, str]:
    """Headers of a boundary read: ``ETag`` and ``Cache-Control`` (``no-cache`` without a tag)."""
    if etag is None:
        return {"Cache-Control": "no-cache"}
    settings: Settings = request.app.state.settings
    scope = "public" if settings.open_reads else "private"
    return {"ETag": etag, "Cache-Control": f"{scope}, max-age={MAX_AGE_SECONDS}"}


def not_modified(request: Request, etag: str | None) -> Response | None:
    """Return a 304 response when ``If-None-Match`` names ``etag`` (or ``*``).

    Parameters
    ----------
    request : fastapi.Request
    etag : str or None
        ``None`` for content without a tag (never 304).

    Returns
    -------
    fastapi.Response or None
        ``None`` when the client has no matching copy.
    """
    header = request.headers.get("if-none-match")
    if not header or etag is None:
        return None
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" in wanted or etag.removeprefix("W/") in wanted:
        return Response(status_code=304, headers=cache_headers(request, etag))
    return None


def geojson_response(
    request: Request,
    body: Any,
    etag: str | None,
    headers: dict[str, str] | None = None,
    media_type: str = "application/geo+json",
) -> JSONResponse:
    """A (Geo)JSON response carrying the cache headers of ``etag``."""
    return JSONResponse(
        body, headers={**cache_headers(request, etag), **(headers or {})}, media_type=media_type
    )
