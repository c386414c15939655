"""Schemathesis hooks for tests/api/schemathesis.toml: the import route takes ndjson, which schemathesis has no
serializer for; it is text, sent as it is."""

from __future__ import annotations

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")
