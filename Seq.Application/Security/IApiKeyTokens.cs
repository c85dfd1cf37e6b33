namespace Seq.Application.Security;

/// <summary>A freshly generated API key token and what is stored of it.</summary>
public sealed record ApiKeyToken(string Token, string Prefix, byte[] Salt, byte[] Hash)
{
    public override string ToString() => $"ApiKeyToken {{ Prefix = {Prefix} }}";
}

/// <summary>API key tokens: generated with at least 120 bits of entropy, stored only as a keyed, salted hash and a short prefix.</summary>
public interface IApiKeyTokens
{
    ApiKeyToken Generate();

    /// <summary>What is stored of a token the client chose (validation has checked its strength): the same as of a generated one.</summary>
    ApiKeyToken FromClient(string token);
}
