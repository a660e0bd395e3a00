"""Offline map pages: vendored Leaflet assets and :func:`render_html`.

folium pages load Leaflet (and, by default, jQuery, Bootstrap, Font Awesome
and Awesome Markers) from CDNs, so without a network they show nothing and
log errors. gridgeo ships the few files its maps need in ``static/`` (npm
packages ``leaflet@1.9.4``, ``leaflet-search@2.9.7`` for the search by code,
``jquery@3.7.1`` for folium popups; MIT licences alongside) and
:func:`render_html` rewrites every script and stylesheet link of a rendered
map to them:

* ``inline_assets=True``: the files are inlined into the page (CSS images as
  ``data:`` URIs), giving one self-contained HTML file for the CLI;
* ``inline_assets=False``: links point to ``{static_url}/<path>``, for the API,
  which serves :data:`STATIC_DIR` at that URL (``/maps/static`` by default).

Links are matched by file name, so folium's own CDN URLs for these libraries
are rewritten too. Any other remote script or stylesheet (Bootstrap, Font
Awesome, Awesome Markers, …) is refused with :class:`~gridgeo.errors.InvalidInput`
rather than silently left to break offline; the map builders of
:mod:`gridgeo.heatmaps.maps` never use them. Tile URLs of an optional basemap
are not assets: they are only requested when that basemap is chosen.

Examples
--------
>>> import folium
>>> m = folium.Map(tiles=None)
>>> m.default_js, m.default_css = MAP_JS, MAP_CSS
>>> html = render_html(m, inline_assets=False)
>>> '<script src="/maps/static/leaflet/leaflet.js"></script>' in html, "cdn." in html
(True, False)
"""

from __future__ import annotations

import base64
import mimetypes
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from gridgeo.errors import InvalidInput

__all__ = [
    "ASSET_FILES",
    "LOCAL_PREFIX",
    "MAP_CSS",
    "MAP_JS",
    "STATIC_DIR",
    "asset_path",
    "render_html",
]

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
"""Directory of the vendored files (serve it at ``static_url``)."""

LOCAL_PREFIX: Final = "gridgeo-static:"
"""URL prefix marking a vendored asset in a map's ``default_js``/``default_css``."""

ASSET_FILES: Final[dict[str, str]] = {
    "leaflet.js": "leaflet/leaflet.js",
    "leaflet.css": "leaflet/leaflet.css",
    "leaflet-search.min.js": "leaflet-search/dist/leaflet-search.min.js",
    "leaflet-search.min.css": "leaflet-search/dist/leaflet-search.min.css",
    "jquery.min.js": "jquery/jquery.min.js",
    "jquery-3.7.1.min.js": "jquery/jquery.min.js",
}
"""File name in a link → vendored path under :data:`STATIC_DIR`."""

MAP_JS: Final[list[tuple[str, str]]] = [("leaflet", LOCAL_PREFIX + "leaflet/leaflet.js")]
"""``default_js`` for gridgeo's maps: Leaflet only."""

MAP_CSS: Final[list[tuple[str, str]]] = [("leaflet_css", LOCAL_PREFIX + "leaflet/leaflet.css")]
"""``default_css`` for gridgeo's maps."""

_SCRIPT = re.compile(r'<script\s+src="(?P<url>[^"]+)"\s*>\s*</script>')
_STYLESHEET = re.compile(r'<link\s+rel="stylesheet"\s+href="(?P<url>[^"]+)"\s*/?>')
_CSS_URL = re.compile(r"url\((?P<q>['\"]?)(?P<ref>[^)'\"]+)(?P=q)\)")
_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.MULTILINE)


def asset_path(url: str) -> str:
    """The vendored path (relative to :data:`STATIC_DIR`) that serves ``url``.

    Raises
    ------
    InvalidInput
        If ``url`` is not a vendored asset (the page would need the network).

    Examples
    --------
    >>> asset_path("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js")
    'leaflet/leaflet.js'
    """
    if url.startswith(LOCAL_PREFIX):
        rel = url[len(LOCAL_PREFIX) :].lstrip("/")
        if not (STATIC_DIR / rel).is_file():
            raise InvalidInput(f"no vendored asset {rel!r}")
        return rel
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if name in ASSET_FILES:
        return ASSET_FILES[name]
    raise InvalidInput(
        f"the map needs {url}, which is not vendored; it would not load offline "
        f"(vendored: {', '.join(sorted(ASSET_FILES))})"
    )


def render_html(m: Any, *, inline_assets: bool, static_url: str = "/maps/static") -> str:
    """Render a folium map to a complete HTML page that needs no CDN.

    Parameters
    ----------
    m : folium.Map (or any branca element with a root Figure)
        The map; rendering it is the usual folium side effect on its Figure.
    inline_assets : bool
        Inline the vendored JS/CSS (self-contained file) or link them.
    static_url : str, default "/maps/static"
        Where :data:`STATIC_DIR` is served, when not inlining.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    InvalidInput
        If the map links a script or stylesheet that is not vendored.
    """
    html = m.get_root().render()
    base = static_url.rstrip("/")

    def script(match: re.Match[str]) -> str:
        rel = asset_path(match["url"])
        if inline_assets:
            return f"<script>{_inline_js(rel)}</script>"
        return f'<script src="{base}/{rel}"></script>'

    def stylesheet(match: re.Match[str]) -> str:
        rel = asset_path(match["url"])
        if inline_assets:
            return f"<style>{_inline_css(rel)}</style>"
        return f'<link rel="stylesheet" href="{base}/{rel}"/>'

    html = _SCRIPT.sub(script, html)
    return _STYLESHEET.sub(stylesheet, html)


@lru_cache(maxsize=16)
def _inline_js(rel: str) -> str:
    text = (STATIC_DIR / rel).read_text(encoding="utf-8")
    text = _SOURCE_MAP.sub("", text)
    return text.replace("</script", "<\\/script")


@lru_cache(maxsize=16)
def _inline_css(rel: str) -> str:
    path = STATIC_DIR / rel
    text = _SOURCE_MAP.sub("", path.read_text(encoding="utf-8"))

    def data_uri(match: re.Match[str]) -> str:
        ref = match["ref"]
        if ref.startswith(("data:", "#", "http:", "https:")):
            return match.group(0)
        target = (path.parent / ref).resolve()
        if STATIC_DIR not in target.parents or not target.is_file():
            return match.group(0)
        mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        payload = base64.b64encode(target.read_bytes()).decode("ascii")
        return f'url("data:{mime};base64,{payload}")'

    return _CSS_URL.sub(data_uri, text).replace("</style", "<\\/style")
