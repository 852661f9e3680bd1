-- Indexes FerretDB 1.24 can use. Its PostgreSQL backend pushes an equality filter down as
-- `_jsonb -> 'field' @> value`, which the btree indexes it creates for MongoDB's indexes never
-- serve (FerretDB/FerretDB#4646): every read, by `_id` too, scanned its whole table, so reads
-- slowed as data grew (82 ms for a chatroom by `_id` among 100,000). A GIN index on the field's
-- expression serves that operator. Every FerretDB table (one with a `_jsonb` column) gets one on
-- `_id` and on the fields Parley looks it up by: `chatroomId` for messages; `tenantId`, `status`
-- and `agentId` for chatrooms; `tenantId` for the rest. (A filter FerretDB does not push down,
-- such as `$in`, is applied in Go to every document the pushed-down part returns, so the
-- repositories name one status per query.) Applied to the tables there are, and by an event trigger to each new one. Idempotent: run
-- at every start.
--
-- `fastupdate = off`: each insert writes its index entries at once. With the default pending
-- list, the insert that finds the list full merges it and stalls every send behind it for
-- hundreds of milliseconds (p99 689 ms at 2,000 messages/s in `scripts/bench/delivery`).

CREATE OR REPLACE FUNCTION parley_index_ferretdb_table(t regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    field text;
    fields text[];
    index_name text;
    schema_name text;
    table_name text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = t AND attname = '_jsonb' AND NOT attisdropped) THEN
        RETURN;
    END IF;
    SELECT n.nspname, c.relname INTO schema_name, table_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = t;
    -- FerretDB names a collection's table `<collection>_<hash>`. Messages are read by chatroom
    -- (the hot insert carries one index fewer); chatrooms by tenant, status and agent (the queue,
    -- the open list, an agent's chatrooms: PostgreSQL combines the indexes, so a tenant's closed
    -- chatrooms are never read for them) and by email (a returning visitor's last agent); an
    -- agent's seats by agent; everything else by tenant.
    fields := CASE
        WHEN table_name LIKE 'messages\_%' THEN ARRAY['_id', 'chatroomId']
        WHEN table_name LIKE 'chatrooms\_%' THEN ARRAY['_id', 'tenantId', 'status', 'agentId', 'email']
        WHEN lower(table_name) LIKE 'agentseats\_%' THEN ARRAY['_id', 'tenantId', 'agentId']
        ELSE ARRAY['_id', 'tenantId']
    END;
    FOREACH field IN ARRAY fields LOOP
        index_name := 'parley_gin_' || left(md5(schema_name || '.' || table_name || '/' || field), 16);
        EXECUTE format(
            'CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((_jsonb -> %L)) WITH (fastupdate = off)',
            index_name, t, field
        );
        -- Indexes made before fastupdate was turned off.
        EXECUTE format('ALTER INDEX %I.%I SET (fastupdate = off)', schema_name, index_name);
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
