"""The ``netlookup`` command: serve, migrate, import, generate demo data, look up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Coroutine
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any, TypeVar

import orjson
import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from netlookup.categories import CATEGORIES, Category
from netlookup.config import DEMO_API_KEY, Settings, is_loopback
from netlookup.container import Services, open_services
from netlookup.demo import demo_records
from netlookup.demo_files import WRITERS, write_aws_sg
from netlookup.errors import ImportRejected, NetlookupError
from netlookup.imports.formats import FORMAT_CATEGORY, FORMAT_SPECS, concatenate
from netlookup.imports.service import OnError
from netlookup.lookup.request import LookupOptions, LookupRequest, Mode
from netlookup.realtime.notify import Notifier, write_only_emitter

app = typer.Typer(help="What touches this address? ACL, security-group, LB and F5 lookups.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        err_console.print(f"[red]bad configuration:[/red] {exc}")
        raise typer.Exit(2) from None


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except NetlookupError as exc:
        if isinstance(exc, ImportRejected):
            err_console.print(f"[red]{exc.detail['message']}[/red]")
            for error in exc.errors:
                err_console.print(f"  line {error['line']}: {error['field'] or '-'}: {error['reason']}")
        else:
            err_console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (one per port behind nginx is preferred).")] = 1,
    graceful_timeout: Annotated[
        int, typer.Option(help="Seconds to let requests finish on shutdown (long-polls are cut after this).")
    ] = 5,
) -> None:
    """Run the HTTP API with uvicorn."""
    import uvicorn  # only the server command needs these two

    from netlookup import server

    settings = _settings()
    if DEMO_API_KEY in settings.api_keys and not is_loopback(host):
        err_console.print(
            f"[red]refusing to serve on {host}:[/red] the API key {DEMO_API_KEY} is printed in the README, so "
            "anyone who can reach this address could import and delete data. Set NETLOOKUP_API_KEYS to a key of "
            "your own (16+ characters, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or "
            "bind 127.0.0.1."
        )
        raise typer.Exit(2)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": settings.log_level.lower(),
        "access_log": settings.access_log,
        "proxy_headers": True,
        "timeout_keep_alive": 75,
        "timeout_graceful_shutdown": graceful_timeout,
    }
    if workers > 1:  # processes sharing one socket: uvicorn's own server, which takes one connection at a time
        uvicorn.run("netlookup.asgi:app", workers=workers, **options)
    else:
        server.run(uvicorn.Config("netlookup.asgi:app", **options))


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply the Alembic migrations up to REVISION (default: head)."""
    from netlookup.migrations import upgrade  # Alembic loads only for the commands that need it

    upgrade(_settings().database_url, revision)
    console.print(f"database at revision {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision.")]) -> None:
    """Revert the Alembic migrations down to REVISION (``base`` empties the database)."""
    from netlookup.migrations import downgrade  # Alembic loads only for the commands that need it

    downgrade(_settings().database_url, revision)
    console.print(f"database at revision {revision}")


def _progress(*, rows: bool = False) -> Progress:
    counter = TextColumn("{task.percentage:>3.0f}% {task.fields[rows]:,} rows") if rows else MofNCompleteColumn()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        counter,
        TimeElapsedColumn(),
        console=err_console,
        transient=not sys.stderr.isatty(),
    )


@contextlib.asynccontextmanager
async def _services(settings: Settings) -> AsyncIterator[Services]:
    """The services of a one-shot command; its imports and deletes are announced to the clients of every node
    (through a write-only Redis manager, when NETLOOKUP_REDIS_URL is set)."""
    async with write_only_emitter(settings.redis_url) as emitter, open_services(settings, Notifier(emitter)) as opened:
        yield opened


def _bar_updater(progress: Progress, task: TaskID, stream: IO[bytes]) -> Any:
    """An ``on_progress`` callback for the bar: bytes of the file read so far (the parser's position), and rows."""

    async def update(rows_done: int) -> None:
        with contextlib.suppress(ValueError, OSError):  # a closed stream at the very end
            progress.update(task, completed=stream.tell(), rows=rows_done)

    return update


async def _import_file(
    settings: Settings, category: Category, paths: list[Path], source: str, fmt: str | None, on_error: OnError
) -> dict[str, Any]:
    async with _services(settings) as services:
        with contextlib.ExitStack() as files, _progress(rows=True) as progress:
            stream = concatenate([files.enter_context(path.open("rb")) for path in paths])
            files.callback(stream.close)
            total = sum(path.stat().st_size for path in paths) + (len(paths) if len(paths) > 1 else 0)
            task = progress.add_task(f"{category} ← {', '.join(p.name for p in paths)}", total=total or None, rows=0)
            on_progress = _bar_updater(progress, task, stream)
            result = await services.imports.import_source(
                category, source, stream, fmt, on_progress=on_progress, on_error=on_error
            )
    return result.as_dict()


class OnErrorChoice(StrEnum):
    reject = "reject"
    skip = "skip"


FORMAT_HELP = "; ".join(
    f"{name} ({spec.category or 'any category'}): {spec.help}" for name, spec in FORMAT_SPECS.items()
)


@app.command("import")
def import_command(
    category: Annotated[str, typer.Argument(help=f"One of {', '.join(CATEGORIES)}.")],
    files: Annotated[
        list[Path], typer.Argument(exists=True, dir_okay=False, readable=True, help="One or more files, read as one.")
    ],
    source: Annotated[str, typer.Option("--source", help="Name of what the data came from.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help=f"{FORMAT_HELP}. Guessed from the content when omitted."),
    ] = None,
    on_error: Annotated[
        OnErrorChoice,
        typer.Option(
            "--on-error",
            help="reject: any bad row refuses the file; skip: import without the rows that cannot be read, listed "
            "under skipped (a file that is not of its format, or cut off, is refused either way).",
        ),
    ] = OnErrorChoice.reject,
) -> None:
    """Replace SOURCE's records of CATEGORY with FILES' (read as one), atomically. Exit 2 listing bad rows."""
    if category not in CATEGORIES:
        err_console.print(f"[red]unknown category {category!r}[/red]: use one of {', '.join(CATEGORIES)}")
        raise typer.Exit(2)
    choice: OnError = "skip" if on_error == OnErrorChoice.skip else "reject"
    result = _run(_import_file(_settings(), category, files, source, fmt, choice))
    console.print_json(data=result)


async def _load_demo(
    settings: Settings, scale: float, seed: int, categories: tuple[Category, ...]
) -> list[dict[str, Any]]:
    results = []
    async with _services(settings) as services:
        for category in categories:
            files: dict[str, IO[bytes]] = {}
            try:
                for source, record in demo_records(category, scale, seed):
                    if source not in files:
                        files[source] = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
                    files[source].write(orjson.dumps(record) + b"\n")
                with _progress() as progress:
                    task = progress.add_task(f"demo {category}", total=len(files))
                    for source, stream in sorted(files.items()):
                        stream.seek(0)
                        result = await services.imports.import_source(category, source, stream, "ndjson")
                        results.append(result.as_dict())
                        progress.advance(task)
            finally:
                for stream in files.values():
                    stream.close()
    return results


def _write_vendor_file(fmt: str, out: Path | None, scale: float, seed: int, pages: int) -> None:
    target = "stdout" if out is None else str(out)
    with contextlib.ExitStack() as stack:
        stream: IO[bytes] = sys.stdout.buffer if out is None else stack.enter_context(out.open("wb"))
        paged = fmt == "aws-sg"
        count = write_aws_sg(stream, scale, seed, pages=pages) if paged else WRITERS[fmt](stream, scale, seed)
        stream.flush()
    category = FORMAT_CATEGORY[fmt]
    err_console.print(
        f"wrote {fmt} to {target}: {count:,} {category} records once imported, e.g.\n"
        f"  netlookup import {category} {target if out else 'FILE'} --source demo-{fmt} --format {fmt}"
    )


@app.command("demo-data")
def demo_data(
    scale: Annotated[float, typer.Option(min=0.001, max=20, help="1 = 150,000 SG rules, 12,000 ACL entries.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Same seed and scale, same data.")] = 1,
    categories: Annotated[str, typer.Option(help="Comma-separated categories to load.")] = "acl,sg,lb,f5",
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Write the data as a vendor file instead of loading it: aws-sg, aws-elbv2, f5-rest, f5-tmsh or "
            "cisco-acl (to --out, or stdout).",
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", dir_okay=False, help="File to write with --format.")] = None,
    pages: Annotated[int, typer.Option(min=1, max=10_000, help="aws-sg: split the dump into this many pages.")] = 1,
) -> None:
    """Load a deterministic synthetic dataset (replaces the demo sources it writes), or with --format write it as
    the file a vendor tool would produce, to try the importers at scale."""
    if fmt is not None:
        if fmt not in WRITERS:
            err_console.print(f"[red]unknown format {fmt!r}[/red]: use one of {', '.join(WRITERS)}")
            raise typer.Exit(2)
        _write_vendor_file(fmt, out, scale, seed, pages)
        return
    if out is not None:
        err_console.print("[red]--out needs --format[/red]: without it the demo data is loaded into the database")
        raise typer.Exit(2)
    wanted = _validated(LookupOptions, categories=categories).categories
    results = _run(_load_demo(_settings(), scale, seed, wanted))
    table = Table("category", "sources", "records", title=f"demo data, scale {scale}, seed {seed}")
    for category in wanted:
        mine = [r for r in results if r["category"] == category]
        table.add_row(category, str(len(mine)), f"{sum(r['count'] for r in mine):,}")
    console.print(table)


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], **values: Any) -> M:
    """Command-line values through the same model (and bounds) as the API's; exit 2 naming what is wrong."""
    try:
        return model.model_validate({name: value for name, value in values.items() if value is not None})
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"])
            err_console.print(f"[red]--{where.replace('_', '-')}: {error['msg'].removeprefix('Value error, ')}[/red]")
        raise typer.Exit(2) from None


async def _lookup(settings: Settings, request: LookupRequest) -> dict[str, Any]:
    prefix = request.prefix()
    async with _services(settings) as services:
        return await services.lookups.lookup(prefix, request)


def _summary(category: str, match: dict[str, Any]) -> str:
    keys = {
        "acl": ("name", "action", "direction", "protocol", "port"),
        "sg": ("group_id", "direction", "protocol", "from_port", "to_port"),
        "lb": ("name", "vip", "port", "matched_on"),
        "f5": ("partition", "name", "destination", "port", "matched_on"),
    }[category]
    return " ".join(f"{k}={match[k]}" for k in keys if match.get(k) is not None)


@app.command("lookup")
def lookup_command(
    q: Annotated[str, typer.Argument(help="Address or CIDR.")],
    categories: Annotated[
        str | None, typer.Option(help="Comma-separated subset of acl,sg,lb,f5 (default: all).")
    ] = None,
    mode: Annotated[Mode | None, typer.Option(help="covering (default), within or overlap.")] = None,
    best: Annotated[bool, typer.Option(help="Only the longest matches per group.")] = False,
    limit: Annotated[int | None, typer.Option(help="Matches per category, 1 to 1000 (default 100).")] = None,
    port: Annotated[int | None, typer.Option(help="Only records admitting this port (0-65535).")] = None,
    protocol: Annotated[str | None, typer.Option(help="Only acl/sg records admitting this protocol.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of a table.")] = False,
) -> None:
    """What touches Q? A table per category, most specific first. The options and their bounds are the API's."""
    request = _validated(
        LookupRequest, q=q, categories=categories, mode=mode, best=best, limit=limit, port=port, protocol=protocol
    )
    response = _run(_lookup(_settings(), request))
    if as_json:
        sys.stdout.write(orjson.dumps(response, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    for category, result in response["results"].items():
        table = Table(
            "prefix",
            "source",
            "where",
            "match",
            title=(
                f"{category}: {result['total']} match(es) for {response['query']}"
                + (" (truncated)" if result["truncated"] else "")
            ),
        )
        for match in result["matches"]:
            where = match.get("cidr") or match.get("vip") or match.get("destination") or ""
            line = f":{match['line']}" if match.get("line") is not None else ""
            table.add_row(f"/{match['prefix_len']}", f"{match['source']}{line}", str(where), _summary(category, match))
        console.print(table)


async def _sources(settings: Settings) -> list[dict[str, Any]]:
    async with _services(settings) as services:
        return await services.records.list_sources()


@app.command("sources")
def sources_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every imported (category, source) with its record count, import time and checksum."""
    rows = _run(_sources(_settings()))
    if as_json:
        sys.stdout.write(orjson.dumps(rows).decode() + "\n")
        return
    table = Table("category", "source", "records", "imported (UTC)", "checksum")
    for row in rows:
        table.add_row(row["category"], row["source"], f"{row['count']:,}", row["imported_at"], row["checksum"][:12])
    console.print(table)


def main() -> None:
    logging.basicConfig(level=os.environ.get("NETLOOKUP_LOG_LEVEL", "WARNING").upper())
    app()
