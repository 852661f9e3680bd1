#!/usr/bin/env python3
"""A local stand-in for Tinybird's HTTP API, on chDB (ClickHouse inside this process).

Tinybird is a hosted service that cannot run here. This server answers the two calls Parley
makes, the way Tinybird answers them, over the project's own datafiles (infra/tinybird):

  POST /v0/events?name=<datasource>&wait=true   NDJSON rows in; {"successful_rows", "quarantined_rows"}
  GET  /v0/pipes/<pipe>.json?<params>           a pipe's endpoint; ClickHouse's JSON output format

The datafiles are read with Tinybird's own parser (tinybird.datafile) and the pipes' SQL is
rendered with Tinybird's own template engine (tinybird.sql_template), so a file or a template that
Tinybird would refuse is refused here too. Everything is loaded once, at start; a bad datafile
stops the start with its error.

Not Tinybird: no JWT tokens, no scopes beyond the two tokens below, no quotas or rate limits, no
materialized views, copy pipes or sinks, and quarantined rows are counted and logged, not kept.

Usage (tokens come from the environment, never from the command line, which `ps` shows):

  TINYBIRD_STANDIN_APPEND_TOKEN=... TINYBIRD_STANDIN_READ_TOKEN=... \\
      python3 standin.py --port 7181 --data DIR --datafiles infra/tinybird

The append token may only append rows to datasources; the read token may only read pipes. Both
travel as `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import argparse
import gzip
import hmac
import json
import os
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import chdb.session
from tinybird.ch_utils.engine import engine_full_from_dict
from tinybird.datafile.parse_datasource import parse_datasource
from tinybird.datafile.parse_pipe import parse_pipe
from tinybird.sql import schema_to_sql_columns, wrap_nullable
from tinybird.sql_template import SQLTemplateCustomError, render_sql_template

# The chDB database the datasources live in; pipes' unqualified table names resolve to it.
DATABASE = "tinybird"
# How ClickHouse reads an appended row: ISO 8601 timestamps (`2026-11-25T10:15:30.120Z`), and a
# null for a column that is not Nullable is an error (the row is quarantined), not a default.
INSERT_SETTINGS = "date_time_input_format = 'best_effort', input_format_null_as_default = 0"
MAX_BODY = 64 * 1024 * 1024
MAX_ERROR_CHARS = 500


def log(message: str) -> None:
    print(f"tinybird-standin: {message}", file=sys.stderr, flush=True)


def sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def first_line(error: Exception) -> str:
    """ClickHouse's message without its stack of `While executing ...` lines."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:MAX_ERROR_CHARS]


# --- the datafiles ---------------------------------------------------------------------------


@dataclass
class Column:
    name: str
    sql_type: str  # with Nullable() where the schema says so
    path: list[str]  # `json:$.a.b` as ["a", "b"]
    nullable: bool
    has_default: bool  # a DEFAULT (or MATERIALIZED) expression fills it when the field is absent
    computed: bool  # MATERIALIZED or ALIAS: never read from the row


@dataclass
class Datasource:
    name: str
    columns: list[Column]
    create_sql: str
    structure: str  # the columns as a format() structure, to check one row


@dataclass
class Pipe:
    name: str
    nodes: list[tuple[str, str]]  # (name, SQL) of the endpoint node and the nodes before it
    endpoint: str


def json_path(path: str, datafile: Path, column: str) -> list[str]:
    if not re.fullmatch(r"\$(\.[A-Za-z_][A-Za-z0-9_]*)+", path):
        raise SystemExit(f"{datafile}: column {column}: the stand-in only reads paths like $.a.b, not {path}")
    return path.split(".")[1:]


def load_datasource(file: Path) -> Datasource:
    node = parse_datasource(str(file)).datafile.nodes[0]
    columns_in = node.get("columns") or []
    if not columns_in:
        raise SystemExit(f"{file}: no SCHEMA")
    engine = node.get("engine") or {"type": "MergeTree", "args": []}
    columns = []
    for c in columns_in:
        default = (c.get("default_value") or "").strip()
        columns.append(
            Column(
                name=c["name"],
                sql_type=wrap_nullable(c),
                path=json_path(c.get("jsonpath") or f"$.{c['name']}", file, c["name"]),
                nullable="Nullable(" in wrap_nullable(c),
                has_default=bool(default),
                computed=default.upper().startswith(("MATERIALIZED", "ALIAS")),
            )
        )
    engine_sql = engine_full_from_dict(engine["type"], dict(engine["args"]), columns=columns_in)
    name = file.stem
    create_sql = (
        f"CREATE TABLE IF NOT EXISTS {DATABASE}.`{name}` (\n    "
        + ",\n    ".join(schema_to_sql_columns(columns_in, skip_jsonpaths=True))
        + f"\n) ENGINE = {engine_sql}"
    )
    structure = ", ".join(f"`{c.name}` {c.sql_type}" for c in columns if not c.computed)
    return Datasource(name, columns, create_sql, structure)


def load_pipe(file: Path) -> Pipe | None:
    """The pipe's endpoint node and the nodes before it, or None when it publishes no endpoint."""
    nodes = parse_pipe(str(file)).datafile.nodes
    types = [(n.get("type") or "").lower() for n in nodes]
    if "endpoint" in types:
        last = types.index("endpoint")
    elif any(types):
        return None  # a materialized view, copy or sink pipe: not published
    else:
        last = len(nodes) - 1
    kept = [(n["name"], n["sql"].strip().rstrip(";").rstrip()) for n in nodes[: last + 1]]
    return Pipe(file.stem, kept, nodes[last]["name"])


# --- chDB --------------------------------------------------------------------------------------


class Store:
    """One chDB session, used by one request at a time."""

    def __init__(self, path: str):
        self.lock = threading.Lock()
        self.path = path
        self.session = chdb.session.Session(path)
        for statement in (
            f"CREATE DATABASE IF NOT EXISTS {DATABASE}",
            f"USE {DATABASE}",
            # Tinybird's servers run in UTC: today() and toDate() agree with it.
            "SET session_timezone = 'UTC'",
            # Tinybird answers 64-bit integers as JSON numbers.
            "SET output_format_json_quote_64bit_integers = 0",
        ):
            self.session.query(statement)

    def query(self, sql: str, fmt: str = "CSV") -> bytes:
        with self.lock:
            return self.session.query(sql, fmt).bytes()

    def close(self) -> None:
        with self.lock:
            self.session.close()

    def columns_of(self, database: str, table: str) -> list[tuple[str, str]]:
        out = self.query(
            f"SELECT name, type FROM system.columns WHERE database = {sql_string(database)} "
            f"AND table = {sql_string(table)} ORDER BY position",
            "JSONCompact",
        )
        return [tuple(row) for row in json.loads(out)["data"]]

    def create(self, ds: Datasource) -> None:
        """Creates the datasource's table, or checks that the kept one still has its columns."""
        if not self.columns_of(DATABASE, ds.name):
            self.query(ds.create_sql)
            return
        # Compare with the columns ClickHouse makes of the datafile (it normalises the types).
        scratch = "tinybird_standin_scratch"
        self.query(f"CREATE DATABASE IF NOT EXISTS {scratch}")
        self.query(f"DROP TABLE IF EXISTS {scratch}.`{ds.name}`")
        self.query(ds.create_sql.replace(f"{DATABASE}.`", f"{scratch}.`", 1))
        want = self.columns_of(scratch, ds.name)
        self.query(f"DROP DATABASE {scratch}")
        have = self.columns_of(DATABASE, ds.name)
        if have != want:
            changed = ", ".join(f"{n} {t}" for n, t in want if (n, t) not in have)
            dropped = ", ".join(f"{n} {t}" for n, t in have if (n, t) not in want)
            raise SystemExit(
                f"{ds.name}.datasource does not match its table kept from an earlier run in {self.path} "
                f"(only in the file: {changed or 'nothing'}; only in the table: {dropped or 'nothing'}, "
                "or the order differs); delete that directory to start afresh"
            )


# --- appending rows ----------------------------------------------------------------------------


def row_of(ds: Datasource, record: Any) -> dict[str, Any]:
    """The table row of one NDJSON record, by each column's json path; ValueError if it does not fit."""
    if not isinstance(record, dict):
        raise ValueError("the line is not a JSON object")
    row = {}
    for column in ds.columns:
        if column.computed:
            continue
        value: Any = record
        for key in column.path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None and not column.nullable:
            if column.has_default:
                continue  # ClickHouse fills in the column's DEFAULT
            raise ValueError(f"column {column.name}: no value at $.{'.'.join(column.path)}")
        row[column.name] = value
    return row


def append(store: Store, ds: Datasource, body: bytes) -> tuple[int, int]:
    """Inserts the rows that fit the datasource; answers (successful, quarantined)."""
    rows: list[str] = []
    errors: list[str] = []
    for line in body.split(b"\n"):
        if not line.strip():
            continue
        try:
            rows.append(json.dumps(row_of(ds, json.loads(line))))
        except ValueError as e:  # json.JSONDecodeError is a ValueError
            errors.append(str(e))
    insert = f"INSERT INTO {DATABASE}.`{ds.name}` SETTINGS {INSERT_SETTINGS} FORMAT JSONEachRow\n"
    if rows:
        try:
            store.query(insert + "\n".join(rows))
        except Exception:
            # Some row does not parse: find which ones with ClickHouse's own parser, insert the rest.
            good = []
            for row in rows:
                try:
                    store.query(
                        f"SELECT * FROM format(JSONEachRow, {sql_string(ds.structure)}, {sql_string(row)}) "
                        f"SETTINGS {INSERT_SETTINGS}",
                        "Null",
                    )
                    good.append(row)
                except Exception as e:
                    errors.append(first_line(e))
            if good:
                store.query(insert + "\n".join(good))
            rows = good
    if errors:
        log(f"{ds.name}: quarantined {len(errors)} row(s); the first: {errors[0][:MAX_ERROR_CHARS]}")
    return len(rows), len(errors)


# --- reading pipes -----------------------------------------------------------------------------


class TemplateError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def render(sql: str, params: dict[str, str], test_mode: bool = False) -> str:
    """A node's SQL for these parameters; only a node starting with `%` is a template."""
    if not sql.startswith("%"):
        return sql
    try:
        rendered, _, _ = render_sql_template(sql[1:], params, test_mode=test_mode)
    except SQLTemplateCustomError as e:
        raise TemplateError(str(e.err), e.code) from e
    except (ValueError, SyntaxError) as e:  # SQLTemplateException is a ValueError
        raise TemplateError(str(e)) from e
    return rendered


def pipe_sql(pipe: Pipe, params: dict[str, str], test_mode: bool = False) -> str:
    """The endpoint node's query, the earlier nodes it reads (directly or not) as CTEs before it."""
    needed = {pipe.endpoint}
    ctes: list[str] = []
    last = ""
    for name, sql in reversed(pipe.nodes):
        if name not in needed:
            continue
        text = render(sql, params, test_mode).strip()
        needed |= {n for n, _ in pipe.nodes if re.search(rf"\b{re.escape(n)}\b", text)}
        if name == pipe.endpoint:
            last = text
        else:
            # A newline before `)`: the node may end with a `--` comment.
            ctes.insert(0, f"`{name}` AS (\n{text}\n)")
    if not ctes:
        return last
    with_clause = "WITH " + ",\n".join(ctes)
    # The endpoint's own WITH joins the nodes' list.
    own_with = re.match(r"(?is)\s*WITH\b", last)
    if own_with:
        return f"{with_clause},\n{last[own_with.end():]}"
    return f"{with_clause}\n{last}"


# --- HTTP --------------------------------------------------------------------------------------


@dataclass
class Standin:
    store: Store
    datasources: dict[str, Datasource]
    pipes: dict[str, Pipe]
    append_token: str
    read_token: str


def tokens_from_env() -> tuple[str, str]:
    append_token = os.environ.get("TINYBIRD_STANDIN_APPEND_TOKEN", "")
    read_token = os.environ.get("TINYBIRD_STANDIN_READ_TOKEN", "")
    if not append_token or not read_token:
        raise SystemExit("set TINYBIRD_STANDIN_APPEND_TOKEN and TINYBIRD_STANDIN_READ_TOKEN")
    if append_token == read_token:
        raise SystemExit("TINYBIRD_STANDIN_APPEND_TOKEN and TINYBIRD_STANDIN_READ_TOKEN must differ")
    return append_token, read_token


class Handler(BaseHTTPRequestHandler):
    server_version = "tinybird-standin"
    standin: Standin  # set on the class before serving

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request, written by `finish_request` below instead

    def answer(self, status: int, body: bytes | dict) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorised(self, token: str, job: str) -> bool:
        header = self.headers.get("Authorization", "")
        given = header[len("Bearer ") :].strip() if header.startswith("Bearer ") else ""
        if not given:
            self.answer(401, {"error": "no token: send Authorization: Bearer <token>"})
            return False
        if not hmac.compare_digest(given.encode(), token.encode()):
            self.answer(403, {"error": f"this token may not {job}"})
            return False
        return True

    def handle_one(self) -> None:
        url = urlsplit(self.path)
        self.route = url.path
        params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        match self.command, url.path:
            case "POST", "/v0/events":
                self.events(params)
            case "GET", path if path.startswith("/v0/pipes/"):
                self.pipe(path[len("/v0/pipes/") :], params)
            case _:
                self.answer(404, {"error": f"the stand-in has no {self.command} {url.path}"})

    def events(self, params: dict[str, str]) -> None:
        standin = self.standin
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.answer(413, {"error": f"the body is larger than {MAX_BODY} bytes"})
            return
        # Read before any refusal: a client still sending when the connection closes sees a reset,
        # not the answer.
        body = self.rfile.read(length)
        if not self.authorised(standin.append_token, "append to datasources"):
            return
        name = params.get("name", "")
        ds = standin.datasources.get(name)
        if ds is None:
            self.answer(404, {"error": f"Data Source {name!r} not found"})
            return
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        successful, quarantined = append(standin.store, ds, body)
        status = 200 if params.get("wait") == "true" else 202
        self.answer(status, {"successful_rows": successful, "quarantined_rows": quarantined})

    def pipe(self, file: str, params: dict[str, str]) -> None:
        standin = self.standin
        if not self.authorised(standin.read_token, "read pipes"):
            return
        name, _, fmt = file.rpartition(".")
        pipe = standin.pipes.get(name)
        if pipe is None:
            self.answer(404, {"error": f"The pipe {file!r} does not exist"})
            return
        if fmt != "json":
            self.answer(400, {"error": f"the stand-in answers .json only, not .{fmt}"})
            return
        params.pop("token", None)
        try:
            sql = pipe_sql(pipe, params)
        except TemplateError as e:
            self.answer(e.status, {"error": str(e)})
            return
        try:
            out = standin.store.query(sql, "JSON")
        except Exception as e:
            self.answer(400, {"error": f"[Error] {first_line(e)}"})
            return
        self.answer(200, out)

    def handle_request(self) -> None:
        started = time.monotonic()
        self.status, self.route = 500, self.path.split("?", 1)[0]
        try:
            self.handle_one()
        except Exception as e:
            log(f"{self.command} {self.route}: {type(e).__name__}: {first_line(e)}")
            self.answer(500, {"error": "the stand-in failed; see its log"})
        ms = (time.monotonic() - started) * 1000
        # The path without its query string: parameters may name tenants; tokens travel in headers.
        log(f"{self.command} {self.route} {self.status} {ms:.0f}ms")

    do_GET = do_POST = do_PUT = do_DELETE = handle_request


# --- start -------------------------------------------------------------------------------------


def loaded(load, file: Path):
    """What `load` makes of a datafile; Tinybird's parser's error, named by the file, stops the start."""
    try:
        return load(file)
    except SystemExit:
        raise
    except Exception as e:
        raise SystemExit(f"{file}: {type(e).__name__}: {e}") from e


def main() -> None:
    parser = argparse.ArgumentParser(description="A local stand-in for Tinybird's HTTP API, on chDB.")
    parser.add_argument("--port", type=int, required=True, help="listens on 127.0.0.1:PORT")
    parser.add_argument("--data", required=True, help="chDB's data directory, kept between runs")
    parser.add_argument("--datafiles", required=True, type=Path, help="holds datasources/ and pipes/")
    args = parser.parse_args()

    started = time.monotonic()
    append_token, read_token = tokens_from_env()
    datasources = {
        f.stem: loaded(load_datasource, f) for f in sorted(args.datafiles.glob("datasources/*.datasource"))
    }
    if not datasources:
        raise SystemExit(f"no datasources in {args.datafiles}/datasources")
    pipes = {}
    for f in sorted(args.datafiles.glob("pipes/*.pipe")):
        pipe = loaded(load_pipe, f)
        if pipe is None:
            log(f"{f.name}: no endpoint node (a materialized, copy or sink pipe): not served")
        else:
            pipes[pipe.name] = pipe

    os.makedirs(args.data, exist_ok=True)
    store = Store(args.data)
    for ds in datasources.values():
        store.create(ds)
    # Each pipe's query, with Tinybird's placeholder values, must at least be one ClickHouse can
    # plan against the schema. A warning, not a failure: placeholders can make a valid pipe fail.
    for pipe in pipes.values():
        try:
            store.query(f"EXPLAIN PLAN {pipe_sql(pipe, {}, test_mode=True)}", "Null")
        except Exception as e:
            log(f"warning: {pipe.name}.pipe does not plan with placeholder parameters: {first_line(e)}")

    Handler.standin = Standin(store, datasources, pipes, append_token, read_token)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log(
        f"listening on http://127.0.0.1:{args.port} (datasources: {', '.join(datasources)}; "
        f"pipes: {', '.join(pipes) or 'none'}; ready in {time.monotonic() - started:.1f}s)"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()


if __name__ == "__main__":
    main()
