namespace Seq.Infrastructure.EventSourcing;

/// <summary>
/// The database schema as an ordered list of additive steps. A step, once released, never changes and is never
/// removed; later steps only add tables, columns, indexes or replace functions. Each step runs once, in order,
/// in its own transaction under an advisory lock, so nodes starting together do not race.
/// </summary>
public static class SchemaMigrations
{
    public sealed record Step(int Version, string Name, string Sql);

    public static IReadOnlyList<Step> All { get; } =
    [
        new(1, "event store", """
            CREATE TABLE streams (
                stream_id   text        PRIMARY KEY,
                type        text        NOT NULL,
                version     bigint      NOT NULL,
                created     timestamptz NOT NULL DEFAULT now(),
                updated     timestamptz NOT NULL DEFAULT now(),
                is_archived boolean     NOT NULL DEFAULT false
            );

            CREATE TABLE events (
                seq       bigint GENERATED ALWAYS AS IDENTITY,
                tx        xid8        NOT NULL DEFAULT pg_current_xact_id(),
                stream_id text        NOT NULL REFERENCES streams (stream_id),
                version   bigint      NOT NULL,
                event_id  uuid        NOT NULL,
                type      text        NOT NULL,
                data      jsonb       NOT NULL,
                metadata  jsonb       NOT NULL,
                created   timestamptz NOT NULL DEFAULT now(),
                CONSTRAINT events_pkey PRIMARY KEY (stream_id, version)
            );

            -- The feed's order, and the only index seq needs: the identity already makes it unique, and one
            -- index fewer on the hottest table is one B-tree insert fewer per event.
            CREATE INDEX events_feed ON events (tx, seq);

            -- The expected version is checked before any row of events is inserted, so a losing writer draws
            -- no sequence value. A mismatch raises SQLSTATE SQ409, which the store maps to a concurrency error.
            CREATE FUNCTION seq_append(
                p_stream_id text, p_stream_type text, p_expected bigint,
                p_event_ids uuid[], p_types text[], p_data jsonb[], p_metadata jsonb[])
            RETURNS bigint
            LANGUAGE plpgsql AS $$
            DECLARE
                n bigint := cardinality(p_event_ids);
            BEGIN
                IF p_expected = 0 THEN
                    INSERT INTO streams (stream_id, type, version) VALUES (p_stream_id, p_stream_type, n);
                ELSE
                    UPDATE streams SET version = p_expected + n, updated = now()
                    WHERE stream_id = p_stream_id AND version = p_expected;
                    IF NOT FOUND THEN
                        RAISE EXCEPTION 'stream % is not at version %', p_stream_id, p_expected
                            USING ERRCODE = 'SQ409';
                    END IF;
                END IF;

                INSERT INTO events (stream_id, version, event_id, type, data, metadata)
                SELECT p_stream_id, p_expected + e.ordinal, e.event_id, e.type, e.data, e.metadata
                FROM unnest(p_event_ids, p_types, p_data, p_metadata) WITH ORDINALITY
                    AS e (event_id, type, data, metadata, ordinal);

                RETURN p_expected + n;
            END
            $$;
            """),
        new(2, "settings projection", """
            CREATE TABLE settings (
                name    text        PRIMARY KEY,
                value   text        NOT NULL,
                updated timestamptz NOT NULL
            );
            """),
    ];
}
