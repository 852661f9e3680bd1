-- Indexes FerretDB 1.24 can use. Its PostgreSQL backend pushes an equality filter down as
-- `_jsonb -> 'field' @> value`, which the btree indexes it creates for MongoDB's indexes never
-- serve (FerretDB/FerretDB#4646): every read, by `_id` too, scanned its whole table, so reads
-- slowed as data grew (82 ms for a chatroom by `_id` among 100,000). A GIN index on the field's
-- expression serves that operator. Every FerretDB table (one with a `_jsonb` column) gets one on
-- `_id` and on the fields Parley looks up by: `tenantId`, `chatroomId`. Applied to the tables
-- there are, and by an event trigger to each new one. Idempotent: run at every start.

CREATE OR REPLACE FUNCTION parley_index_ferretdb_table(t regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    field text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = t AND attname = '_jsonb' AND NOT attisdropped) THEN
        RETURN;
    END IF;
    FOREACH field IN ARRAY ARRAY['_id', 'tenantId', 'chatroomId'] LOOP
        EXECUTE format(
            'CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((_jsonb -> %L))',
            'parley_gin_' || left(md5(t::text || '/' || field), 16), t, field
        );
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION parley_index_new_ferretdb_tables() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    created record;
BEGIN
    FOR created IN SELECT objid FROM pg_event_trigger_ddl_commands()
        WHERE command_tag = 'CREATE TABLE' AND object_type = 'table'
    LOOP
        PERFORM parley_index_ferretdb_table(created.objid::regclass);
    END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS parley_index_new_ferretdb_tables;
CREATE EVENT TRIGGER parley_index_new_ferretdb_tables ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION parley_index_new_ferretdb_tables();

SELECT parley_index_ferretdb_table(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema');
