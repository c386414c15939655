"""Prometheus metrics of one process (each node is scraped on its own /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Counter(
    "netlookup_http_requests_total", "HTTP requests by route, method and status.", ["route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "netlookup_http_request_duration_seconds",
    "HTTP request latency by route and status.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
LOOKUP_LATENCY = Histogram(
    "netlookup_lookup_duration_seconds",
    "Lookup time per category and read path.",
    ["category", "path"],
    buckets=LATENCY_BUCKETS,
)
SHED_REQUESTS = Counter("netlookup_shed_requests_total", "Requests answered 503 to shed load, by reason.", ["reason"])
IMPORT_ROWS = Counter(
    "netlookup_import_rows_total", "Rows read by imports (committed or not), by category.", ["category"]
)
DB_POOL = Gauge("netlookup_db_pool_connections", "Database pool connections by state.", ["state"])
DB_GATE = Gauge("netlookup_db_gate", "Requests waiting for, and slots free in, the database gate.", ["state"])
SOCKETIO_CLIENTS = Gauge("netlookup_socketio_connected_clients", "Socket.IO clients connected to this node.")
INDEX_RECORDS = Gauge(
    "netlookup_memory_index_records", "Records in the in-memory index (0 while building).", ["category"]
)
INDEX_MERGES = Counter(
    "netlookup_memory_index_merges_total", "Merges of an in-memory index's segments into one.", ["category"]
)
INDEX_LAST_MERGE = Gauge(
    "netlookup_memory_index_last_merge_timestamp_seconds",
    "When the in-memory index's segments were last merged (Unix time; 0 before the first merge).",
    ["category"],
)
INDEX_SEGMENTS = Gauge("netlookup_memory_index_segments", "Segments of the in-memory index.", ["category"])
