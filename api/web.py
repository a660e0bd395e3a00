"""Web conventions of the API: HEAD, gzip, CORS, GeoJSON media type, ETag/Cache-Control.

- **HEAD** is answered on every GET route: the request runs as a GET and
  the body is dropped (headers, including ``Content-Length``, are kept).
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


def install_web_conventions(app: FastAPI, settings: Settings) -> None:
    """Add gzip, HEAD and CORS middleware to ``app`` (outermost: CORS).

    Parameters
    ----------
    app : fastapi.FastAPI
    settings : Settings
        ``cors_origins`` selects the allowed origins.
    """
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)
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


def generation_etag(request: Request, generation_id: int) -> str:
    """A weak ETag for a boundary read: the generation plus the path and query.

    Parameters
    ----------
    request : fastapi.Request
    generation_id : int
        The generation whose content the response shows.

    Returns
    -------
    str
        ``W/"g<id>-<hash>"``.
    """
    query = "&".join(sorted(request.url.query.split("&")))
    digest = hashlib.sha256(f"{request.url.path}?{query}".encode()).hexdigest()[:16]
    return f'W/"g{generation_id}-{digest}"'


def cache_headers(request: Request, etag: str) -> dict[str, str]:
    """Headers of a cacheable boundary read (``ETag``, ``Cache-Control``)."""
    settings: Settings = request.app.state.settings
    scope = "public" if settings.open_reads else "private"
    return {"ETag": etag, "Cache-Control": f"{scope}, max-age={MAX_AGE_SECONDS}"}


def not_modified(request: Request, etag: str) -> Response | None:
    """Return a 304 response when ``If-None-Match`` names ``etag`` (or ``*``).

    Parameters
    ----------
    request : fastapi.Request
    etag : str

    Returns
    -------
    fastapi.Response or None
        ``None`` when the client has no matching copy.
    """
    header = request.headers.get("if-none-match")
    if not header:
        return None
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" in wanted or etag.removeprefix("W/") in wanted:
        return Response(status_code=304, headers=cache_headers(request, etag))
    return None


def geojson_response(
    request: Request,
    body: Any,
    etag: str,
    headers: dict[str, str] | None = None,
    media_type: str = "application/geo+json",
) -> JSONResponse:
    """A (Geo)JSON response carrying the cache headers of ``etag``."""
    return JSONResponse(
        body, headers={**cache_headers(request, etag), **(headers or {})}, media_type=media_type
    )
