"""Authenticity detectors that hold against realistic cheating (one module per detector).

:mod:`~gridgeo.tracks.detectors.replay` (near-replays and copied tracks),
:mod:`~gridgeo.tracks.detectors.spoofing` (simulated movement),
:mod:`~gridgeo.tracks.detectors.vehicle` (riding or driving where walking is the mode).
:func:`gridgeo.tracks.authenticity.authenticity_flags` runs them with the older checks.
"""
