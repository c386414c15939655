"""Inputs for fuzzing the parsers: any bytes, a valid file cut anywhere with junk after the cut, or a valid file
with a few bytes swapped for syntax that matters (brackets, quotes, line breaks, numbers, bad UTF-8)."""

from __future__ import annotations

from hypothesis import strategies as st

SPLICES = [b"", b"{", b"}", b"]", b'"', b"\n", b"-1", b"999.1.1.1", b"\xff\xfe", b"null", b"[]", b"ltm virtual x {\n"]


def mutations(original: bytes, *, max_junk: int = 50) -> st.SearchStrategy[bytes]:
    return (
        st.binary(max_size=1500)
        | st.builds(
            lambda cut, junk: original[:cut] + junk, st.integers(0, len(original)), st.binary(max_size=max_junk)
        )
        | st.builds(
            lambda at, size, junk: original[:at] + junk + original[at + size :],
            st.integers(0, len(original)),
            st.integers(0, 20),
            st.sampled_from(SPLICES),
        )
    )
