"""Grid codes: structure, validation, reading-order assignment and stability.

Codes are digit strings: district (6) + street (3) + community (3) + grid
(3) + micro-grid (3). Grid and micro-grid sequences 001–799 are base units,
801–999 special units. The pieces:

* :mod:`~gridgeo.coding.codes` — :func:`parse_code`, :func:`validate_code`,
  :func:`validate_codes`, :func:`format_code`, :func:`level_of` and the
  constants (rule names in its docstring);
* :mod:`~gridgeo.coding.official` — the official 2023 statistical division
  codes shipped with gridgeo (:func:`official_codes`, :func:`is_official`,
  :func:`official_name`);
* :mod:`~gridgeo.coding.order` — :func:`reading_order`, with the exact rule
  (reference point, row banding, tie-breaks) and its jitter guarantee;
* :mod:`~gridgeo.coding.assign` — :func:`assign_codes`, sequences in reading
  order per parent and kind, skipping reserved codes;
* :mod:`~gridgeo.coding.generations` — :func:`match_generations` and
  :func:`recode_generation`: codes carry over across redraws, splits and
  merges get fresh codes and lineage, retired codes never come back.

Everything here is pure: no database, no files except the shipped code list.
"""

from gridgeo.coding.assign import assign_codes, reserved_sequences
from gridgeo.coding.codes import (
    CHILD_LEVEL,
    CODED_LEVELS,
    KINDS,
    LENGTH_LEVELS,
    LEVEL_LENGTHS,
    LEVELS,
    OFFICIAL_LEVELS,
    PARENT_LEVEL,
    SEQUENCE_RANGES,
    CodeParts,
    CodeProblem,
    format_code,
    kind_of_sequence,
    level_of,
    parse_code,
    problems_frame,
    validate_code,
    validate_codes,
)
from gridgeo.coding.generations import (
    LINEAGE_RELATIONS,
    MatchResult,
    match_generations,
    recode_generation,
)
from gridgeo.coding.official import OFFICIAL_SOURCE, is_official, official_codes, official_name
from gridgeo.coding.order import TIE_TOLERANCE, reading_order

__all__ = [
    "CHILD_LEVEL",
    "CODED_LEVELS",
    "KINDS",
    "LENGTH_LEVELS",
    "LEVELS",
    "LEVEL_LENGTHS",
    "LINEAGE_RELATIONS",
    "OFFICIAL_LEVELS",
    "OFFICIAL_SOURCE",
    "PARENT_LEVEL",
    "SEQUENCE_RANGES",
    "TIE_TOLERANCE",
    "CodeParts",
    "CodeProblem",
    "MatchResult",
    "assign_codes",
    "format_code",
    "is_official",
    "kind_of_sequence",
    "level_of",
    "match_generations",
    "official_codes",
    "official_name",
    "parse_code",
    "problems_frame",
    "reading_order",
    "recode_generation",
    "reserved_sequences",
    "validate_code",
    "validate_codes",
]
