#!/usr/bin/env python3
"""Render nginx.conf for N single-process netlookup nodes (one uvicorn process per port).

Socket.IO needs sticky sessions (long-polling requests of one session must reach the node that holds it), so
/socket.io/ balances on the client address (ip_hash, or `--balance consistent` for `hash $remote_addr consistent`);
the stateless REST API goes to the least busy node (least_conn).

    python nginx/render.py --node app1:8000 --node app2:8000 --node app3:8000 --listen 80 > nginx/netlookup.conf
    python nginx/render.py --node 127.0.0.1:8001 --node 127.0.0.1:8002 --listen 8080 --prefix /tmp/nx > nginx.conf

Standard library only, so it runs anywhere Python 3 does.
"""

from __future__ import annotations

import argparse
import sys

TEMPLATE = """\
# Rendered by nginx/render.py for {node_count} netlookup node(s). Do not edit by hand: render again.
{user_line}worker_processes {workers};
worker_rlimit_nofile 65536;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;

events {{
    # Each proxied request holds two connections (client and node).
    worker_connections 16384;
}}

http {{
    # "timing": what a benchmark reads back (status, the time nginx took to answer, the node's part of it,
    # when it was answered).
    log_format timing '$status $request_time $upstream_response_time $msec';
    access_log {access_log};
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {mime_types};
    default_type application/octet-stream;
    sendfile on;
    server_tokens off;

    # Imports stream through to the node, which enforces NETLOOKUP_MAX_UPLOAD_MB itself.
    client_max_body_size {max_body};

    # Socket.IO: sticky by client address (a long-polling session lives on one node).
    upstream netlookup_sticky {{
        {balance};
{servers}
        keepalive 64;
        keepalive_timeout 60s;
    }}

    # The REST API is stateless: each request goes to the least busy node.
    upstream netlookup {{
        least_conn;
{servers}
        # Idle connections to the nodes; uvicorn keeps them 75 s, longer than nginx's 60 s, so nginx closes first.
        # As many as a burst has in flight: each one closed here is opened again for the next burst, and a
        # connection being opened costs a busy node more than a request on one that is open.
        keepalive 1024;
        keepalive_timeout 60s;
    }}

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      '';
    }}

    server {{
        listen {listen};
        server_name _;

        proxy_http_version 1.1;
        proxy_connect_timeout 5s;

        # proxy_set_header is inherited only by blocks that set none of their own: every location repeats them.
        # (Without Host, Socket.IO's same-origin check sees the upstream name and refuses browsers with 403.)
        location /socket.io/ {{
            proxy_pass http://netlookup_sticky;
{forwarded}
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            # Events must reach the browser as they are sent, not when a buffer fills.
            proxy_buffering off;
            # Engine.IO pings every 25 s; an idle WebSocket is not a dead one.
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
        }}
{static_block}
        location / {{
            proxy_pass http://netlookup;
{forwarded}
            proxy_set_header Connection "";
            # When nginx took the request: a node sheds it (503) when it waited too long in the queues.
            proxy_set_header X-Request-Start "t=${{msec}}";
            proxy_request_buffering off;
            # Batch answers run to megabytes: keep them in memory, never in temp files on disk.
            proxy_buffer_size 16k;
            proxy_buffers 64 16k;
            proxy_busy_buffers_size 64k;
            proxy_max_temp_file_size 0;
            proxy_read_timeout 120s;
            proxy_send_timeout 120s;
        }}
    }}
}}
"""

FORWARDED = """\
            proxy_set_header Host $http_host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;"""

STATIC_BLOCK = """
        location /static/ {{
            alias {static_dir}/;
            expires 1h;
            add_header Cache-Control "public";
        }}
"""


def render(
    nodes: list[str],
    listen: str,
    prefix: str,
    balance: str,
    workers: str,
    max_body: str,
    static_dir: str | None,
    user: str | None,
    access_log: str | None,
    mime_types: str,
) -> str:
    if not nodes:
        raise SystemExit("give at least one --node HOST:PORT")
    for node in nodes:
        host, _, port = node.rpartition(":")
        if not host or not port.isdigit():
            raise SystemExit(f"--node {node!r} is not HOST:PORT")
    servers = "\n".join(f"        server {node} max_fails=3 fail_timeout=10s;" for node in nodes)
    return TEMPLATE.format(
        node_count=len(nodes),
        user_line=f"user {user};\n" if user else "",
        workers=workers,
        prefix=prefix.rstrip("/"),
        access_log=access_log or "off",
        mime_types=mime_types,
        max_body=max_body,
        balance="ip_hash" if balance == "ip_hash" else "hash $remote_addr consistent",
        servers=servers,
        listen=listen,
        forwarded=FORWARDED,
        static_block=STATIC_BLOCK.format(static_dir=static_dir.rstrip("/")) if static_dir else "",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--node", action="append", default=[], help="HOST:PORT of a node; repeat per node")
    parser.add_argument("--listen", default="80", help="what nginx listens on (port or address:port)")
    parser.add_argument("--prefix", default="/var/lib/nginx", help="directory for pid, temp files and error log")
    parser.add_argument("--balance", choices=("ip_hash", "consistent"), default="ip_hash")
    parser.add_argument("--workers", default="auto")
    parser.add_argument("--max-body", default="300m")
    parser.add_argument("--static-dir", help="serve this directory at /static/")
    parser.add_argument("--user", help="the user worker processes run as (nginx started as root)")
    parser.add_argument(
        "--access-log", help="access log path, optionally followed by a format (e.g. 'PATH timing'; default: off)"
    )
    parser.add_argument("--mime-types", default="/etc/nginx/mime.types")
    args = parser.parse_args(argv)
    sys.stdout.write(
        render(
            args.node,
            args.listen,
            args.prefix,
            args.balance,
            args.workers,
            args.max_body,
            args.static_dir,
            args.user,
            args.access_log,
            args.mime_types,
        )
    )


if __name__ == "__main__":
    main()
