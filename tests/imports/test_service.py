"""Pure helpers of the atomic replace: what changed between two record sets, and their checksum."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from netlookup.imports.service import content_checksum, multiset_changes

_fingerprints = st.lists(st.integers(-5, 5) | st.integers(-(2**63), 2**63 - 1), max_size=60)


@given(_fingerprints, _fingerprints)
def test_changes_count_duplicates_like_counters(old: list[int], new: list[int]) -> None:
    added, removed = multiset_changes(sorted(old), sorted(new))
    assert added == sum((Counter(new) - Counter(old)).values())
    assert removed == sum((Counter(old) - Counter(new)).values())


@given(_fingerprints, st.randoms())
def test_checksum_ignores_order(values: list[int], rng: object) -> None:
    shuffled = list(values)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert content_checksum(values) == content_checksum(shuffled)
    assert content_checksum(values) != content_checksum([*values, 1])


async def test_a_parser_that_trips_is_a_refusal_at_its_position_not_a_crash() -> None:
    from collections.abc import Iterator
    from typing import Any

    from netlookup.imports.validate import validated_batches

    def tripping() -> Iterator[Any]:
        for number in range(1, 4):
            yield number, {"cidr": f"10.0.{number}.0/24"}
        raise TypeError("'int' object is not iterable")

    async with validated_batches("acl", tripping(), size=2) as batches:
        first = await batches.next()
        second = await batches.next()
    assert [len(first.rows), first.errors] == [2, []]
    assert second.finished
    [error] = second.errors
    assert error.line == 4
    assert "past item 3" in error.reason
    assert "TypeError" in error.reason
