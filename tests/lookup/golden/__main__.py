"""Make the golden snapshots and their answers again: ``python -m tests.lookup.golden``."""

from tests.lookup.golden import write_golden

write_golden()
