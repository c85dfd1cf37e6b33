// The dashboard's only way to the server: its public HTTP API, with the same permissions as any client.
// The CSRF token lives in this module's memory only (never in web storage or the URL): a reload signs in again.

let csrfToken: string | null = null;
let onUnauthorized: () => void = () => {};

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function hasSession(): boolean {
  return csrfToken !== null;
}

/** Called on any 401: the session has ended (signed out elsewhere, password changed, server reset). */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (csrfToken !== null && method !== 'GET') headers['X-Seq-CsrfToken'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'The server could not be reached.');
  }
  const text = await response.text();
  const type = response.headers.get('Content-Type') ?? '';
  const data: unknown = text && type.includes('json') ? JSON.parse(text) : text;
  if (!response.ok) {
    const message = typeof data === 'object' && data !== null && 'Error' in data ? String((data as { Error: unknown }).Error) : `${response.status} ${response.statusText}`;
    // The login itself answers 401 for wrong credentials: that is not a lost session.
    if (response.status === 401 && path !== '/api/users/login') {
      csrfToken = null;
      onUnauthorized();
    }
    throw new ApiError(response.status, message);
  }
  return data as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body: unknown) => request<T>('POST', path, body);
export const put = <T>(path: string, body: unknown) => request<T>('PUT', path, body);
export const del = (path: string) => request<unknown>('DELETE', path);

export interface User {
  Id: string;
  Username: string;
  DisplayName: string | null;
  EmailAddress: string | null;
  RoleIds: string[];
  MustChangePassword: boolean;
}

export interface LoginResult extends User {
  CsrfToken: string;
}

export interface Role {
  Id: string;
  Title: string;
  Permissions: string[];
}

export interface ApiKey {
  Id: string;
  Title: string;
  Token: string | null;
  TokenPrefix: string;
  AssignedPermissions: string[];
  OwnerId: string | null;
  InputSettings: {
    AppliedProperties: { Name: string; Value: unknown }[];
    MinimumLevel: string | null;
    Filter: { Filter: string | null; FilterNonStrict: string | null } | null;
    UseServerTimestamps: boolean;
  };
}

export interface Setting {
  Id: string;
  Name: string;
  Value: unknown;
  Description: string | null;
}

export interface Feed {
  Id: string;
  Name: string;
  Location: string;
  Username: string | null;
  IsPasswordSet: boolean;
}

export const encode = encodeURIComponent;

export interface SignalFilter {
  Description: string | null;
  DescriptionIsExcluded: boolean;
  Filter: string;
  FilterNonStrict: string | null;
}

export interface Signal {
  Id: string;
  Title: string;
  Description: string | null;
  Filters: SignalFilter[];
  Columns: { Expression: string }[];
  Grouping: string;
  ExplicitGroupName: string | null;
  IsProtected: boolean;
  IsIndexSuppressed: boolean;
  OwnerId: string | null;
}

export interface EventProperty {
  Name: string;
  Value: unknown;
}

export interface LogEvent {
  Id: string;
  Timestamp: string;
  Level: string | null;
  RenderedMessage: string | null;
  MessageTemplate: string | null;
  Exception: string | null;
  TraceId: string | null;
  SpanId: string | null;
  Properties: EventProperty[];
}

export interface Backup {
  Id: string;
  CreatedAt: string;
  Filename: string;
  FileSizeBytes: number;
  Links: { Download: string };
}
