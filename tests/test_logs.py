"""Log output: what an operator reads when the database restarts."""

from __future__ import annotations

import io
import logging

from netlookup.logs import POOL_LOGGERS, configure_logging


def test_a_connection_lost_during_pool_reset_is_one_warning_line() -> None:
    configure_logging("INFO")
    configure_logging("INFO")  # idempotent: one filter, not two
    logger = logging.getLogger(POOL_LOGGERS[0])
    assert len(logger.filters) == 1
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    try:
        try:
            raise ConnectionResetError("Lost connection to MySQL server during query")
        except ConnectionResetError:
            logger.error("Exception during reset or similar", exc_info=True)
        try:
            raise ValueError("something else")
        except ValueError:
            logger.error("Exception closing connection", exc_info=True)
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    first, *rest = text.splitlines()
    assert first == (
        "WARNING pooled connection lost, discarded: ConnectionResetError: Lost connection to MySQL server during query"
    )
    assert "ERROR Exception closing connection" in rest[0]
    assert "Traceback" in text.split("Exception closing connection")[1]  # other errors keep their traceback
