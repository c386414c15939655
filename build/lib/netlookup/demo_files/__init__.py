"""Synthetic vendor files built from the demo dataset: what ``netlookup demo-data --format`` writes.

Each writer streams its file (one group, balancer, virtual or line at a time), so a file of any scale is written
in bounded memory, and returns how many canonical records an import of it yields (the number to expect). The
files follow the vendors' documented shapes, the ones the importers in ``netlookup.imports`` read:

- ``aws-sg``: ``aws ec2 describe-security-groups`` JSON, optionally as several pages (documents with a
  ``NextToken``) one after the other; rules with the same protocol and ports share one permission, and some
  permissions reference another group or a prefix list (reported by the importer, not imported).
- ``aws-elbv2``: the combined ``{"load_balancers", "target_groups", "target_health"}`` document.
- ``f5-rest``: the iControl REST collections of ``/mgmt/tm/ltm/virtual`` and ``/mgmt/tm/ltm/pool`` (members
  expanded), as two documents one after the other.
- ``f5-tmsh``: the same objects as ``tmsh list ltm pool`` / ``ltm virtual`` text of a ``bigip.conf``.
- ``cisco-acl``: device configurations, IOS named and numbered extended ACLs, ASA ``access-list ... extended``
  lines with object-groups, and ``ip prefix-list`` lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from netlookup.demo_files.aws import write_aws_elbv2, write_aws_sg
from netlookup.demo_files.cisco import write_cisco_acl
from netlookup.demo_files.f5 import write_f5_rest, write_f5_tmsh

__all__ = ["WRITERS", "write_aws_sg"]

# Format name → writer(out, scale, seed) → how many records importing the file gives.
WRITERS: dict[str, Callable[[IO[bytes], float, int], int]] = {
    "aws-sg": write_aws_sg,
    "aws-elbv2": write_aws_elbv2,
    "f5-rest": write_f5_rest,
    "f5-tmsh": write_f5_tmsh,
    "cisco-acl": write_cisco_acl,
}
