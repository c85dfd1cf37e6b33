namespace Seq.Domain.Security;

/// <summary>Seq's permissions. Every endpoint and every request type demands one of them.</summary>
public enum Permission
{
    Public,
    Ingest,
    Read,
    Write,
    Project,
    System,
    Organization,
}
