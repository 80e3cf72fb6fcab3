-- Who may connect to the warehouse database and make temporary tables: only the duties,
-- and temporary tables for the loader and dbt only (not BI). Per database: a database
-- copied from this one does not inherit them.
revoke connect, temporary on database current_database_placeholder from public;
grant connect on database current_database_placeholder
    to cakupan_loader, cakupan_transformer, bi_reader;
grant temporary on database current_database_placeholder to cakupan_loader, cakupan_transformer;
-- Nothing lives in schema public: no duty may use it, so BI tools do not list it.
revoke all on schema public from public;
