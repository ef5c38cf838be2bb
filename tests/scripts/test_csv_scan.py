"""The CSV byte scan's vectorised junk check agrees with the regex that specifies it."""

from __future__ import annotations

import csv_loading
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

# Bytes that pass _ByteScan's translate() check with a comma delimiter: the only input the
# vectorised check ever sees.
_ALLOWED = sorted(set(csv_loading._NUMERIC_BYTES + b","))


@pytest.mark.slow
@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_ALLOWED), min_size=1, max_size=40).map(bytes))
def test_number_shaped_junk_is_the_suspect_regex(block: bytes) -> None:
    expected = csv_loading._SUSPECT.search(block) is not None
    assert csv_loading.number_shaped_junk(block) == expected


def test_clean_numbers_pass_and_each_kind_of_junk_is_caught() -> None:
    clean = b"1,0.438903,-0.651399,1e-05,2.5E+10,-3\n0,7,.5,-0.25,1.,12\n"
    assert not csv_loading.number_shaped_junk(clean)
    for junk in (b"1..2", b"--1", b"1e5e5", b" . ", b"NA", b"1e999", b"1-2", b"1e,", b"1e-,"):
        assert csv_loading.number_shaped_junk(b"1," + junk + b",2\n"), junk
