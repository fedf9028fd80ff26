// The host's session on the console: the access token (15 minutes) kept in memory only, the
// refresh token in sessionStorage so that a reload stays signed in (it is per tab, and gone when
// the tab closes). Refresh tokens rotate on every use (docs/tokens.md): one refresh at a time.
import { api, ApiError, bearer, request, type Schemas } from "./api.ts";

const REFRESH_KEY = "vidivo:refresh-token";
/** Refresh this long before the access token expires, so that no request carries a dead one. */
const EARLY_MS = 60_000;

export class HostSession {
  private accessToken: string;
  private refreshToken: string;
  private expiresAt: number;
  private refreshing: Promise<void> | null = null;
  /** Called once when the session cannot be refreshed any more (revoked, expired). */
  onExpired: () => void = () => {};

  private constructor(tokens: Schemas["TokenPair"]) {
    this.accessToken = tokens.access_token;
    this.refreshToken = tokens.refresh_token;
    this.expiresAt = Date.now() + tokens.expires_in * 1_000;
    sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
  }

  static async signIn(email: string, password: string): Promise<{ session: HostSession; user: Schemas["User"] }> {
    const answer = await request(api.POST("/v1/auth/login", { body: { email, password } }));
    return { session: new HostSession(answer), user: answer.user };
  }

  /** The session this tab had before a reload, or null when it had none. */
  static async restore(): Promise<HostSession | null> {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (!refreshToken) return null;
    try {
      return new HostSession(await request(api.POST("/v1/auth/refresh", { body: { refresh_token: refreshToken } })));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) sessionStorage.removeItem(REFRESH_KEY);
      throw err;
    }
  }

  /** The Authorization header, with an access token that is good for at least another minute. */
  async auth(): Promise<{ Authorization: string }> {
    if (Date.now() > this.expiresAt - EARLY_MS) {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = null));
      await this.refreshing;
    }
    return bearer(this.accessToken);
  }

  /** Ends the session on the server (the refresh token's family is revoked) and in this tab. */
  async signOut(): Promise<void> {
    sessionStorage.removeItem(REFRESH_KEY);
    await request(api.POST("/v1/auth/logout", { body: { refresh_token: this.refreshToken } }));
  }

  private async refresh() {
    try {
      const tokens = await request(api.POST("/v1/auth/refresh", { body: { refresh_token: this.refreshToken } }));
      this.accessToken = tokens.access_token;
      this.refreshToken = tokens.refresh_token;
      this.expiresAt = Date.now() + tokens.expires_in * 1_000;
      sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        sessionStorage.removeItem(REFRESH_KEY);
        this.onExpired();
      }
      throw err;
    }
  }
}
