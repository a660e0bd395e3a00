"""An independent held-out generator of honest and cheating patrols (issue 15).

Made without reading the product's detectors or its sample-track generator:
:mod:`.gps` (smartphone error model), :mod:`.walks` (honest patrols),
:mod:`.cheats` (one function per cheat kind), :mod:`.scenario` (a seeded
month with ground truth). ``tests/tracks/test_heldout_authenticity.py`` judges
the product's flags on it.
"""
