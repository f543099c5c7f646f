"""How the outputs write shares, dates and names."""

from __future__ import annotations

import math

import pytest

from escalsim.outputs.labels import date_label, end_label, percent, percent_range, scenario_title, track_prefix

MANIFEST = {"start": "2024-10-15", "scenario": "dprk", "title": None,
            "tracks": [{"id": "a", "label": "Widening"}, {"id": "b", "label": None}]}


@pytest.mark.parametrize("p, decimals, text", [
    (0.38, None, "38%"), (0.004, None, "0.4%"), (0.996, None, "99.6%"), (0, None, "0%"), (1, None, "100%"),
    (0.0004, None, "0.04%"), (0.9996, None, "99.96%"),            # never 0% or 100% unless it is
    (0.381, 1, "38.1%"), (0.9996, 1, "99.96%"), (0.0003, 1, "0.03%"), (1.0, 1, "100.0%"), (0.0, 1, "0.0%"),
    (1.00000000001, None, "100%"),                                 # float sums of shares
])
def test_percent_never_rounds_a_share_to_none_or_all(p, decimals, text):
    assert percent(p, decimals) == text


def test_percent_range_has_one_sign():
    assert percent_range(0.36, 0.40) == "36–40%" and percent_range(0.0016, 0.003, 1) == "0.2–0.3%"


def test_days_as_dates():
    assert date_label(MANIFEST, 0.7) == "2024-10-15" and date_label(MANIFEST, 47.0) == "2024-12-01"
    assert date_label(MANIFEST, math.nan) == "-" and date_label(MANIFEST, None) == "-"
    assert end_label(MANIFEST, 365.0) == "2025-10-14"  # the horizon of a year holds the end of its last day


def test_names_from_the_manifest():
    assert scenario_title(MANIFEST) == "dprk"
    assert track_prefix(MANIFEST, MANIFEST["tracks"][0]) == "Widening: "
    assert track_prefix(MANIFEST, MANIFEST["tracks"][1]) == "b: "
    assert track_prefix({"tracks": MANIFEST["tracks"][:1]}, MANIFEST["tracks"][0]) == ""
