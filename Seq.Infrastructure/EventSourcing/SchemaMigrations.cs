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

            -- Raised by an append whose expected version no longer matches; the store maps SQLSTATE SQ409 to a
            -- concurrency error. It is only ever called on that path.
            CREATE FUNCTION seq_stream_conflict(p_stream_id text, p_expected bigint) RETURNS text
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'stream % is not at version %', p_stream_id, p_expected USING ERRCODE = 'SQ409';
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
        new(3, "secret key check", """
            -- One row: the id and check value of the secret key the storage was initialized with. A node that
            -- starts with any other key refuses to run instead of writing data it could never read back.
            CREATE TABLE instance_secret_key (
                singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
                key_id      text        NOT NULL,
                check_value text        NOT NULL,
                recorded    timestamptz NOT NULL DEFAULT now()
            );
            """),
        new(4, "nuget feeds projection", """
            -- protected_password is ciphertext under the secret key (purpose stored-secrets); never returned.
            CREATE TABLE nuget_feeds (
                id                 text        PRIMARY KEY,
                name               text        NOT NULL,
                location           text        NOT NULL,
                username           text        NULL,
                protected_password text        NULL,
                updated            timestamptz NOT NULL
            );
            """),
        new(5, "nuget feed names are unique", """
            -- Closes the race between the create handler's name check and its append: the second append of a
            -- name fails here, inside its own transaction, and is reported as a conflict.
            CREATE UNIQUE INDEX nuget_feeds_name_unique ON nuget_feeds (lower(name));
            """),
    ];
}
