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
        new(6, "identity: users, api keys, sessions, login throttle", """
            -- password_hash is the self-describing PBKDF2 string; password_version counts password changes, and a
            -- session is only honoured while it matches, so a reset ends every session of the user.
            CREATE TABLE users (
                id                   text        PRIMARY KEY,
                username             text        NOT NULL,
                display_name         text        NULL,
                email_address        text        NULL,
                role_ids             text[]      NOT NULL,
                view_filter          jsonb       NULL,
                password_hash        text        NOT NULL,
                must_change_password boolean     NOT NULL,
                password_version     integer     NOT NULL,
                updated              timestamptz NOT NULL
            );
            CREATE UNIQUE INDEX users_username_unique ON users (lower(username));

            -- Only a keyed, salted hash of each token and its short public prefix are kept; the token itself never is.
            CREATE TABLE api_keys (
                id                   text        PRIMARY KEY,
                title                text        NOT NULL,
                token_prefix         text        NOT NULL,
                token_salt           bytea       NOT NULL,
                token_hash           bytea       NOT NULL,
                assigned_permissions text[]      NOT NULL,
                owner_id             text        NULL,
                input_settings       jsonb       NOT NULL,
                created              timestamptz NOT NULL,
                updated              timestamptz NOT NULL
            );
            CREATE INDEX api_keys_owner ON api_keys (owner_id);

            -- Sessions are looked up by a hash of the cookie value, so the table holds nothing a thief could replay.
            CREATE TABLE user_sessions (
                token_hash       bytea       PRIMARY KEY,
                user_id          text        NOT NULL,
                password_version integer     NOT NULL,
                created          timestamptz NOT NULL,
                last_seen        timestamptz NOT NULL,
                expires          timestamptz NOT NULL
            );
            CREATE INDEX user_sessions_user ON user_sessions (user_id);

            CREATE TABLE login_throttle (
                key           text        PRIMARY KEY,
                failures      integer     NOT NULL,
                last_failure  timestamptz NOT NULL,
                blocked_until timestamptz NOT NULL
            );
            """),
        new(7, "audit session anchors", """
            -- One row per audited run of the server (ADR 0007): the newest line known durable in its audit target,
            -- at most a second behind and exact at a clean shutdown, so that lines cut from the end of a session,
            -- its last file or the whole session can be found missing. Only the server writes here.
            CREATE TABLE audit_session_anchors (
                audit_session    text        PRIMARY KEY,
                previous_session text        NULL,
                target           text        NOT NULL,
                started          timestamptz NOT NULL,
                durable_sequence bigint      NOT NULL,
                durable_chain    text        NULL,
                ended            timestamptz NULL,
                updated          timestamptz NOT NULL
            );
            CREATE INDEX audit_session_anchors_started ON audit_session_anchors (started);
            """),
        new(8, "backups: one scheduled backup a day, restores to record in the audit log", """
            -- One row per day a scheduled backup was made, written by the node that made it under an advisory lock, so
            -- that of the nodes sharing this database exactly one backs up each day.
            CREATE TABLE backup_days (
                day       date        PRIMARY KEY,
                node      text        NOT NULL,
                file_name text        NOT NULL,
                completed timestamptz NOT NULL
            );

            -- Written by a restore in its own transaction; the next start records each as Backup/Restore in the audit
            -- log and deletes it. Not part of any backup.
            CREATE TABLE restore_records (
                id             uuid        PRIMARY KEY,
                kind           text        NOT NULL,
                backup_file    text        NOT NULL,
                backup_created timestamptz NOT NULL,
                key_id         text        NOT NULL,
                streams        bigint      NOT NULL,
                events         bigint      NOT NULL,
                restored       timestamptz NOT NULL
            );
            """),
        new(9, "log events", """
            -- Log events are data, not metadata: not event-sourced, never in a backup. One partition per UTC day,
            -- so that retention drops whole tables. The id is the order of ingestion (no CACHE: one sequence
            -- order for every session); with the timestamp it is the key, and the public event id encodes both.
            CREATE SEQUENCE log_event_ids AS bigint;

            CREATE TABLE log_events (
                timestamp        timestamptz NOT NULL,
                id               bigint      NOT NULL DEFAULT nextval('log_event_ids'),
                level            text        NOT NULL,
                message_template text        NULL,
                rendered_message text        NULL,
                exception        text        NULL,
                event_type       bigint      NULL,
                trace_id         text        NULL,
                span_id          text        NULL,
                parent_span_id   text        NULL,
                span_start       timestamptz NULL,
                span_kind        text        NULL,
                renderings       jsonb       NULL,
                properties       jsonb       NOT NULL,
                PRIMARY KEY (timestamp, id)
            ) PARTITION BY RANGE (timestamp);

            -- Creates the partition for one UTC day unless it exists, under a lock so that concurrent writers
            -- do not race to create the same table.
            CREATE FUNCTION seq_log_event_partition(p_day date) RETURNS void
            LANGUAGE plpgsql AS $$
            DECLARE
                partition_name text := 'log_events_' || to_char(p_day, 'YYYYMMDD');
            BEGIN
                IF to_regclass(partition_name) IS NOT NULL THEN
                    RETURN;
                END IF;
                PERFORM pg_advisory_xact_lock(1399157043);
                IF to_regclass(partition_name) IS NOT NULL THEN
                    RETURN;
                END IF;
                EXECUTE format('CREATE TABLE %I PARTITION OF log_events FOR VALUES FROM (%L) TO (%L)', partition_name,
                    (p_day::timestamp AT TIME ZONE 'UTC'), ((p_day + 1)::timestamp AT TIME ZONE 'UTC'));
            END
            $$;
            """),
        new(10, "signals projection", """
            -- A signal's definition (title, filters, columns, grouping…) is read and written whole, so it is one jsonb value.
            CREATE TABLE signals (
                id         text        PRIMARY KEY,
                owner_id   text        NULL,
                definition jsonb       NOT NULL,
                updated    timestamptz NOT NULL
            );
            CREATE INDEX signals_owner ON signals (owner_id);
            """),
        new(11, "log event properties index", """
            -- Property equality in a search is translated to jsonb containment (properties @> '{"A":"x"}'), which this
            -- index serves whatever the value's rarity (ADR 0042). jsonb_path_ops: smaller and faster than the default
            -- jsonb_ops, and containment is the only operator the search uses. Made on every partition, existing and future.
            CREATE INDEX log_events_properties ON log_events USING gin (properties jsonb_path_ops);
            """),
        new(12, "one stream id shape: {category}/{aggregate id}", """
            -- The id a stream has today (ADR 0047) for one written before this step, by the aggregate's stream type, so
            -- that another kind of stream whose id happens to look alike keeps its own.
            CREATE FUNCTION seq_stream_id_now(p_stream_id text, p_type text) RETURNS text
            LANGUAGE sql IMMUTABLE AS $$
                SELECT CASE
                    WHEN p_type = 'InstanceSettings' AND p_stream_id = 'settings-instance' THEN 'settings/instance'
                    WHEN p_type = 'InstanceAuthentication' AND p_stream_id = 'instance-authentication' THEN 'authentication/instance'
                    WHEN p_type = 'NuGetFeed' AND p_stream_id LIKE 'feed-%' THEN 'nugetfeeds/' || substr(p_stream_id, 6)
                    WHEN p_type = 'Signal' AND p_stream_id LIKE 'signal-stream-%' THEN 'signals/' || substr(p_stream_id, 15)
                    ELSE p_stream_id
                END
            $$;

            -- Moves every stream written under an older id, with its events, to its id of today; versions, event ids,
            -- transaction ids and sequence numbers stay, so a feed reader's position still holds. Run by this step, and
            -- by a restore once it has put back a backup's streams (a backup may predate this step).
            CREATE FUNCTION seq_current_stream_ids() RETURNS bigint
            LANGUAGE plpgsql AS $$
            DECLARE
                moved bigint;
            BEGIN
                SET CONSTRAINTS events_stream_id_fkey DEFERRED;
                UPDATE events e SET stream_id = seq_stream_id_now(s.stream_id, s.type)
                FROM streams s
                WHERE e.stream_id = s.stream_id AND seq_stream_id_now(s.stream_id, s.type) <> s.stream_id;
                UPDATE streams SET stream_id = seq_stream_id_now(stream_id, type) WHERE seq_stream_id_now(stream_id, type) <> stream_id;
                GET DIAGNOSTICS moved = ROW_COUNT;
                SET CONSTRAINTS events_stream_id_fkey IMMEDIATE;
                RETURN moved;
            END
            $$;

            -- Deferrable only so that a stream and its events can change id in one transaction; still checked at
            -- every statement unless deferred, as above.
            ALTER TABLE events ALTER CONSTRAINT events_stream_id_fkey DEFERRABLE INITIALLY IMMEDIATE;

            SELECT seq_current_stream_ids();
            """),
    ];
}
