"""Which of a source's records an import keeps, matched by content fingerprint as the new rows stream in. Pure code.

A re-import of an unchanged or slightly changed dump (the daily sync of an AWS account, a config backup) then
inserts only what is new and deletes only what is gone; the records that stay keep their ids.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable


class OldRecords:
    """The records a source had, as (fingerprint, id) sorted by fingerprint; 17 bytes a record.

    ``keep(fingerprint)`` claims one not yet claimed record with that content (duplicates count one by one) and
    says whether there was one; what was never claimed is what the import removes.
    """

    def __init__(self, pairs: Iterable[tuple[int, int]]):
        self._fingerprints = array("q")
        self._ids = array("q")
        for fingerprint, record_id in pairs:
            self._fingerprints.append(fingerprint)
            self._ids.append(record_id)
        if any(a > b for a, b in zip(self._fingerprints, self._fingerprints[1:], strict=False)):
            raise ValueError("old records must come sorted by fingerprint")
        self._kept = bytearray(len(self._fingerprints))
        self.kept = 0
        self.max_id = max(self._ids, default=0)

    def __len__(self) -> int:
        return len(self._fingerprints)

    def keep(self, fingerprint: int) -> bool:
        index = bisect_left(self._fingerprints, fingerprint)
        while index < len(self._fingerprints) and self._fingerprints[index] == fingerprint:
            if not self._kept[index]:
                self._kept[index] = 1
                self.kept += 1
                return True
            index += 1
        return False

    @property
    def removed(self) -> int:
        return len(self._fingerprints) - self.kept

    def removed_ids(self) -> list[int]:
        """Ids of the records no new row claimed, ascending."""
        return sorted(record_id for record_id, kept in zip(self._ids, self._kept, strict=True) if not kept)
