// What a client driver is given and what it answers. clients.test.ts copies this file next to each
// driver and its generated client, runs every driver against one listening server, and checks
// every answer with the same assertions. It imports nothing, so it compiles anywhere.

export interface SessionOptions {
  baseUrl: string;
  email: string;
  /**
   * Makes the account a host. Through the API that takes an admin and a verified e-mail, which
   * says nothing about a generated client; the test does it in the database.
   */
  promote(userId: string): Promise<void>;
}

/** The answers of a session's steps, as any generated client types them (only what is read here). */
export interface Steps {
  registered: { user: { id: string; role: string } };
  login: { refresh_token: string };
  refreshed: { refresh_token: string };
  /** users/me after the refresh. */
  me: { id: string; email: string | null; role: string };
  link: { id: string; short_code: string; url: string };
  resolved: { short_code: string; host: { id: string }; available: boolean };
  started: { call: { id: string; status: string; short_code: string } };
  /** initiate again with the same X-Idempotency-Key and body. */
  replay: { call: { id: string } };
  /** listCalls, role=host. */
  calls: { data: { id: string }[] };
  /** The same X-Idempotency-Key with another body: the status and the typed envelope. */
  reused: { status: number; body: { error: { code: string } } };
}

export type SessionReport = ReturnType<typeof report>;

/** What the test checks of a session (plain data, the same whichever client ran it). */
export function report(s: Steps) {
  return {
    registered: { id: s.registered.user.id, role: s.registered.user.role },
    me: { id: s.me.id, email: s.me.email, role: s.me.role },
    rotated: s.refreshed.refresh_token !== s.login.refresh_token,
    link: { id: s.link.id, short_code: s.link.short_code, url: s.link.url },
    resolved: { short_code: s.resolved.short_code, host_id: s.resolved.host.id, available: s.resolved.available },
    call: { id: s.started.call.id, status: s.started.call.status, short_code: s.started.call.short_code },
    replayed: s.replay.call.id,
    listed: s.calls.data.map((c) => c.id),
    reused: { status: s.reused.status, code: s.reused.body.error.code },
  };
}

export const PASSWORD = "sdk password 1";

/** The body of a successful answer, or a failure that shows the status and error envelope. */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (result.data === undefined) throw new Error(`${what}: ${result.response.status} ${JSON.stringify(result.error)}`);
  return result.data;
}
