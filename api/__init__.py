"""HTTP API of gridgeo (FastAPI). Build it with :func:`api.app.create_app`."""

from api.app import create_app

__all__ = ["create_app"]
