"""Persistence layer of gridgeo: the only package that talks to PostGIS.

Modules: :mod:`~gridgeo.store.localdb` (the project-local cluster),
:mod:`~gridgeo.store.db` (engines, migrations), :mod:`~gridgeo.store.models`
(tables), and one module per aggregate (``users``, ``units`` …).
"""
