using Npgsql;

namespace Seq.Infrastructure.Auditing;

/// <summary>
/// What the database knows of one audit session (ADR 0007): the newest line known durable in its target, the
/// session before it, and whether it ended cleanly.
/// </summary>
public sealed record AuditSessionAnchor(
    string AuditSession, string? PreviousSession, string Target, DateTimeOffset Started, long DurableSequence, string? DurableChain, DateTimeOffset? Ended);

/// <summary>The anchors of audit sessions in PostgreSQL (table <c>audit_session_anchors</c>).</summary>
public sealed class AuditSessionAnchors(NpgsqlDataSource dataSource)
{
    const string Columns = "audit_session, previous_session, target, started, durable_sequence, durable_chain, ended";

    /// <summary>The session that started last, or null when none was ever audited.</summary>
    public async Task<AuditSessionAnchor?> LatestAsync(CancellationToken cancellationToken)
    {
        var anchors = await ReadAsync(dataSource, $"SELECT {Columns} FROM audit_session_anchors ORDER BY started DESC, audit_session DESC LIMIT 1", cancellationToken);
        return anchors.Count == 0 ? null : anchors[0];
    }

    public async Task StartAsync(AuditSessionAnchor anchor, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "INSERT INTO audit_session_anchors (audit_session, previous_session, target, started, durable_sequence, durable_chain, updated) VALUES ($1, $2, $3, $4, $5, $6, now())");
        command.Parameters.Add(new NpgsqlParameter { Value = anchor.AuditSession });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)anchor.PreviousSession ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = anchor.Target });
        command.Parameters.Add(new NpgsqlParameter { Value = anchor.Started.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = anchor.DurableSequence });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)anchor.DurableChain ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Moves the anchor forward (never back); <paramref name="ended"/> marks a clean end, after the End line is durable.</summary>
    public async Task AdvanceAsync(string auditSession, long durableSequence, string? durableChain, bool ended, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE audit_session_anchors
               SET durable_sequence = $2, durable_chain = $3, updated = now(), ended = CASE WHEN $4 THEN now() ELSE ended END
             WHERE audit_session = $1 AND durable_sequence <= $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = auditSession });
        command.Parameters.Add(new NpgsqlParameter { Value = durableSequence });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)durableChain ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = ended });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Every anchor, oldest session first.</summary>
    public static Task<IReadOnlyList<AuditSessionAnchor>> ReadAllAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        ReadAsync(dataSource, $"SELECT {Columns} FROM audit_session_anchors ORDER BY started, audit_session", cancellationToken);

    static async Task<IReadOnlyList<AuditSessionAnchor>> ReadAsync(NpgsqlDataSource dataSource, string sql, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var anchors = new List<AuditSessionAnchor>();
        while (await reader.ReadAsync(cancellationToken))
        {
            anchors.Add(new AuditSessionAnchor(
                reader.GetString(0),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.GetString(2),
                reader.GetFieldValue<DateTimeOffset>(3),
                reader.GetInt64(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6)));
        }
        return anchors;
    }
}
