-- Warehouse bootstrap: idempotent, run by `cakupan warehouse up` and before every load.
create schema if not exists raw;
create schema if not exists audit;
create schema if not exists quarantine;

comment on schema raw is 'Extracts as loaded (typed, pseudonymised), one partition per period. Not for BI.';
comment on schema audit is 'Traceability: every extract load and quality run.';
comment on schema quarantine is 'Rows refused at loading, with file, line, column and reason.';

create table if not exists audit.extract_loads (
    load_id         bigserial primary key,
    dataset         text not null,
    source_uri      text not null,
    file_name       text not null,
    file_format     text,
    period          text,
    checksum_sha256 text,
    bytes           bigint,
    rows_read       bigint,
    rows_loaded     bigint,
    rows_rejected   bigint,
    status          text not null check (status in ('running', 'loaded', 'failed')),
    error           text,
    run_id          text,
    dag_id          text,
    task_id         text,
    key_fingerprint text,
    started_at      timestamptz not null default now(),
    finished_at     timestamptz,
    duration_s      numeric(12, 3)
);
-- Added after the first release: bootstrap brings older warehouses up to date.
do $$
begin
    -- 'withdrawn': an operator removed the period's partition (cakupan withdraw);
    -- 'retired': retention dropped it from raw, the marts keep its aggregates.
    if not exists (
        select 1 from pg_constraint
        where conname = 'extract_loads_status_check'
          and pg_get_constraintdef(oid) like '%retired%'
    ) then
        alter table audit.extract_loads drop constraint if exists extract_loads_status_check;
        alter table audit.extract_loads add constraint extract_loads_status_check
            check (status in ('running', 'loaded', 'failed', 'withdrawn', 'retired'));
    end if;
end
$$;
alter table audit.extract_loads add column if not exists overrides text[];
alter table audit.extract_loads add column if not exists commit_xid xid8;
alter table audit.extract_loads add column if not exists rows_repeated_nik bigint;
comment on column audit.extract_loads.rows_repeated_nik is 'Rows whose NIK appeared earlier in the file under another KPJ (one person, two participant numbers): flagged here; the marts count participants, one per KPJ.';
comment on column audit.extract_loads.overrides is 'Plausibility checks this load was allowed to fail (accept_implausible).';
comment on column audit.extract_loads.commit_xid is 'Transaction that published the load: news to a transform whose snapshot does not see it.';
create index if not exists extract_loads_dataset_period on audit.extract_loads (dataset, period, status);
comment on table audit.extract_loads is 'One row per extract load attempt: source, checksum, row counts, run id, timings.';

create table if not exists quarantine.rejected_rows (
    load_id     bigint not null references audit.extract_loads (load_id),
    file_name   text not null,
    line        integer,
    column_name text,
    reason      text not null,
    value       text,
    recorded_at timestamptz not null default now()
);
create index if not exists rejected_rows_load on quarantine.rejected_rows (load_id);
comment on table quarantine.rejected_rows is 'Rows refused at loading; personal values (NIK, name, birth date) are never kept.';

create table if not exists raw.regions (
    _load_id      bigint not null,
    _line         integer not null,
    edition_year  integer not null,
    region_code   text not null,
    region_name   text not null,
    level         smallint not null,
    village_count integer
) partition by list (edition_year);

create table if not exists raw.population_by_region (
    _load_id     bigint not null,
    _line        integer not null,
    edition_year integer not null,
    region_code  text not null,
    region_name  text not null,
    male         bigint not null,
    female       bigint not null,
    total        bigint not null
) partition by list (edition_year);

create table if not exists raw.working_population (
    _load_id        bigint not null,
    _line           integer not null,
    semester        text not null,
    regency_code    text not null,
    sex             char(1) not null,
    age_band        text not null,
    occupation_code smallint not null,
    population      bigint not null
) partition by list (semester);

create table if not exists raw.enrollment_snapshot (
    _load_id           bigint not null,
    _line              integer not null,
    snapshot_month     date not null,
    kpj                text not null,
    nik_token          char(64) not null,
    birth_date         date not null,
    sex                char(1) not null,
    regency_code       text not null,
    district_code      text,
    segment            text not null,
    has_jkk            boolean not null,
    has_jkm            boolean not null,
    has_jht            boolean not null,
    has_jp             boolean not null,
    has_jkp            boolean not null,
    employer_npp       text,
    occupation_code    smallint not null,
    ecosystem          text,
    contribution_payer text not null,
    registration_date  date not null,
    last_paid_month    date,
    status             text not null,
    poverty_decile     smallint
) partition by list (snapshot_month);
comment on column raw.enrollment_snapshot.nik_token is 'HMAC-SHA256 of the NIK (hex); the key lives outside the warehouse.';

create table if not exists audit.quality_runs (
    run_id              text not null,
    checkpoint          text not null,
    suite               text not null,
    success             boolean not null,
    failed_expectations integer not null,
    failures            jsonb not null default '[]',
    checked_at          timestamptz not null default now()
);
create index if not exists quality_runs_run on audit.quality_runs (run_id);
comment on table audit.quality_runs is 'One row per GX suite per gate run: success and the failed expectations (critical and warning).';

-- Incremental dbt models: the snapshot each one last read. A load is news to a model
-- when its commit_xid is not visible in that snapshot, whatever the order of load ids.
create table if not exists audit.transform_watermarks (
    model                text primary key,
    snapshot             pg_snapshot,  -- null until the model's first successful run
    candidate_snapshot   pg_snapshot,  -- set at compile time, kept if the model's run commits
    candidate_invocation text not null,
    updated_at           timestamptz not null default now()
);
comment on table audit.transform_watermarks is 'The database snapshot each incremental consumer (dbt model, quality gate) last read its changed periods from.';

-- The periods each raw table holds now, from the catalog (no scan): incremental models
-- drop the periods that left raw.
create or replace view audit.raw_partitions as
select
    parent.relname as table_name,
    substring(pg_get_expr(part.relpartbound, part.oid) from $re$IN \('?([^')]*)'?\)$re$) as period
from pg_inherits
join pg_class parent on parent.oid = pg_inherits.inhparent
join pg_class part on part.oid = pg_inherits.inhrelid
join pg_namespace ns on ns.oid = parent.relnamespace
where ns.nspname = 'raw';
comment on view audit.raw_partitions is 'One row per raw partition: table and the period it holds.';

create table if not exists audit.publications (
    publication_id bigserial primary key,
    run_id         text,
    tables         jsonb not null,
    published_at   timestamptz not null default now()
);
comment on table audit.publications is 'Each atomic publication of marts_build into marts, with row counts per table.';
alter table audit.publications add column if not exists watermarks jsonb;
comment on column audit.publications.watermarks is 'The snapshot each incremental consumer had read when this publication was made: a load visible in all of them is in the published marts (retention relies on it).';

-- Retention: raw months with personal data dropped once older than the retention window
-- (cakupan retention, DAG cakupan_retention). The marts keep their aggregates.
create table if not exists audit.retired_periods (
    table_name       text not null,
    period           text not null,
    dataset          text not null,
    load_id          bigint not null references audit.extract_loads (load_id),
    rows_removed     bigint not null,
    quarantine_rows_removed bigint not null,
    retention_months integer not null,
    run_id           text,
    retired_at       timestamptz not null default now(),
    primary key (table_name, period)
);
comment on table audit.retired_periods is 'Raw periods dropped by retention: the load whose rows the marts keep as aggregates, rows removed from raw and quarantine, the window applied.';

-- Least privilege: one login role per duty, each connected by its own component.
--   cakupan_loader       ingestion: owns raw (creates, attaches and drops partitions),
--                        writes quarantine and its own audit rows
--   cakupan_transformer  dbt, the quality gate, publication: reads raw and audit, owns
--                        the dbt schemas and marts, records watermarks and gate runs
--   bi_reader            BI tools and the report: reads the published marts, nothing else
-- DDL is this file's alone, run by the admin at `cakupan warehouse up`; loads never run it.
do $$
declare
    duty text;
begin
    foreach duty in array array['cakupan_loader', 'cakupan_transformer', 'bi_reader'] loop
        if not exists (select 1 from pg_roles where rolname = duty) then
            execute format('create role %I login', duty);
        end if;
    end loop;
end
$$;
comment on role bi_reader is 'BI tools: reads the published marts only.';
-- BI tools find the marts unqualified; the schemas bi_reader may not use stay listed in
-- pg_namespace (readable by every role), so each tool's schema filter hides them (README).
alter role bi_reader set search_path = marts;

create schema if not exists marts;
comment on schema marts is 'Published coverage marts: the only schema BI tools read (role bi_reader).';
create schema if not exists staging;
create schema if not exists intermediate;
create schema if not exists marts_build;
create schema if not exists reference;

-- The database's own grants are in database_grants.sql (run right after this file).

-- Ownership: who may create, attach, replace and drop what (older warehouses had it all
-- owned by the admin).
do $$
declare
    rel record;
begin
    execute 'alter schema raw owner to cakupan_loader';
    for rel in
        select c.oid::regclass as name, n.nspname as schema_name from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p', 'v', 'm', 'S')
          and n.nspname in ('raw', 'staging', 'intermediate', 'marts_build', 'reference', 'marts')
    loop
        execute format(
            'alter table %s owner to %I', rel.name,
            case when rel.schema_name = 'raw' then 'cakupan_loader' else 'cakupan_transformer' end
        );
    end loop;
    execute 'alter schema staging owner to cakupan_transformer';
    execute 'alter schema intermediate owner to cakupan_transformer';
    execute 'alter schema marts_build owner to cakupan_transformer';
    execute 'alter schema reference owner to cakupan_transformer';
    execute 'alter schema marts owner to cakupan_transformer';
end
$$;

grant usage on schema raw to cakupan_transformer;
grant select on all tables in schema raw to cakupan_transformer;
alter default privileges for role cakupan_loader in schema raw
    grant select on tables to cakupan_transformer;

grant usage on schema audit, quarantine to cakupan_loader, cakupan_transformer;
grant select, insert, update on audit.extract_loads to cakupan_loader;
grant usage on sequence audit.extract_loads_load_id_seq to cakupan_loader;
grant select, insert, delete on quarantine.rejected_rows to cakupan_loader;
grant select on audit.extract_loads, audit.raw_partitions to cakupan_loader, cakupan_transformer;
grant select, insert, update on audit.retired_periods to cakupan_loader;
grant select on audit.retired_periods to cakupan_transformer;
grant select on audit.publications to cakupan_loader;
grant select, insert, update on audit.transform_watermarks to cakupan_transformer;
grant select, insert on audit.quality_runs, audit.publications to cakupan_transformer;
grant usage on sequence audit.publications_publication_id_seq to cakupan_transformer;

grant usage on schema marts to bi_reader;
grant select on all tables in schema marts to bi_reader;
alter default privileges for role cakupan_transformer in schema marts
    grant select on tables to bi_reader;

-- Which versions of this file ran here (cakupan.warehouse.bootstrap skips a version that did).
create table if not exists audit.bootstrap (
    sha256     text primary key,
    applied_at timestamptz not null default now()
);
comment on table audit.bootstrap is 'Hash of each bootstrap.sql version applied to this database.';
grant select on audit.bootstrap to cakupan_loader, cakupan_transformer;
