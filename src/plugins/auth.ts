// Bearer tokens for both surfaces on @fastify/jwt: RS256 pinned, issuer and audience checked, the
// key chosen by `kid` from the keyring (retired keys keep verifying), expiry read from the injected
// clock. Each security scheme of openapi.yaml maps to one verifier here; the route helper attaches
// the scheme's verifier to every operation that declares it. In Vonage mode (a Vonage application
// configured) the V-app token is the Vonage Client SDK's instead, signed and verified with the
// application's key (src/domain/vonage-tokens.ts).
//
// The caller rule, for every scheme: a token only names its subject. Whether that caller still
// exists, and with what role, is what the database says now (one primary-key read per request,
// whose row the handler gets with the principal), so
// a deleted account is refused at once and a demoted host or admin loses access at once, not when
// the token expires.
import { randomUUID } from "node:crypto";
import fp from "fastify-plugin";
import fastifyJwt from "@fastify/jwt";
import { createVerifier } from "fast-jwt";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { AppError, unknownCaller, type TokenProblem } from "../domain/errors.ts";
import type { Clock } from "../domain/ports/clock.ts";
import type { Keyring } from "../domain/keys.ts";
import { vonageTokens, type VonageApplication } from "../domain/vonage-tokens.ts";
import { fromUlid, toUlid, vappIdOf } from "../domain/ids.ts";
import type { User } from "../domain/accounts.ts";
import { USER_ROLES, type GuestPrincipal, type Principal, type UserPrincipal, type UserRole } from "../domain/principal.ts";

export const AUDIENCE = { vapp: "vidivo:vapp", v1: "vidivo:v1" } as const;

/** The caller each security scheme yields: what the handler of an operation declaring it sees. */
export interface SchemePrincipal {
  vappToken: UserPrincipal;
  accessToken: UserPrincipal;
  guestToken: GuestPrincipal;
}
export type SecurityScheme = keyof SchemePrincipal;

export interface TokenIssuer {
  /** V-app token: sub = name, user_id = USR-…, 1 hour (in Vonage mode, the Client SDK's token). */
  /** The V-app token of an account (its `user_id`: ids.ts, vappIdOf). */
  vapp(user: { id: string; username: string | null; vonageUserId?: string | null }): string;
  /**
   * v1 access token, 15 minutes. `signedInAt` (unix ms, default now): when the session began, the
   * `auth_time` claim; a refreshed token keeps its sign-in's (what a recent sign-in stands for:
   * personal-data.ts, REAUTH_WINDOW_MS).
   */
  access(user: { id: string; role: UserRole }, signedInAt?: number): { token: string; expiresIn: number };
  /** v1 guest token. */
  guest(guest: { id: string }): { token: string; expiresIn: number };
}

/**
 * Throws forbidden unless the caller is a user with at least `role` (guest < user < verified_user <
 * host < admin). The principal's role is the account's current one (see the caller rule above).
 */
export function requireRole(principal: Principal | null, role: UserRole): asserts principal is UserPrincipal {
  if (!principal) throw new AppError("unauthorized");
  if (principal.kind === "guest" || USER_ROLES.indexOf(principal.role) < USER_ROLES.indexOf(role)) throw new AppError("forbidden");
}

export const VAPP_TOKEN_TTL = 3600;
/** How far in the future a token's `iat` may be (clock skew between instances) before it is refused. */
export const IAT_SKEW_MS = 60_000;
export const ACCESS_TOKEN_TTL = 900;

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    tokens: TokenIssuer;
    /** Verifiers by security scheme name (openapi.yaml components.securitySchemes). */
    securitySchemes: Record<SecurityScheme, (req: FastifyRequest) => Promise<void>>;
  }
}

export interface AuthOptions {
  keyring: Keyring;
  issuer: string;
  clock: Clock;
  guestTokenTtlSeconds: number;
  /** Vonage mode: V-app tokens are signed and verified with this application's key. */
  vonage?: VonageApplication | undefined;
  /** Where the caller a token names is looked up, on every authenticated request. */
  callers: {
    /** The account as it is now (its role included), or null when it no longer exists. */
    accountNow(userId: string): Promise<User | null>;
    /** The same, by V-app id (a V-app token's `user_id`). */
    accountByVappId(vappId: string): Promise<User | null>;
    /** Whether the guest still exists and has not expired. */
    guestActive(guestId: string): Promise<boolean>;
  };
}

const VERIFIED_CACHE_SIZE = 10_000;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Token verification for the schemes: RS256 only, the key chosen by the header's `kid` from the
 * keyring, issuer and audience checked, every claim the service issues required, expiry and issue
 * time read from the injected clock. Returns the claims, or null for any token that fails.
 *
 * One fast-jwt verifier per (key, audience), built on first use: the public key is parsed once,
 * not on every request (a per-call key or option set makes fast-jwt parse the PEM each time, which
 * cost more than the signature check itself). A client sends the same token for its whole life, so
 * each verifier keeps the claims of the last VERIFIED_CACHE_SIZE tokens whose signature it checked,
 * by the token's SHA-256 (a signature check is ~40 µs of CPU, a cached verify ~15, mostly that
 * hash): expiry and issue time are checked on every request all the same, and a key removed from
 * the keyring verifies nothing.
 */
export function bearerVerifier(opts: { keyring: Keyring; issuer: string; clock: Clock }) {
  const { keyring, issuer, clock } = opts;
  const verifiers = new Map<string, (token: string) => Record<string, unknown>>();
  const verifierFor = (kid: string, aud: string) => {
    const pem = keyring.publicKeys.get(kid);
    if (!pem) return undefined;
    const id = `${kid}\n${aud}`;
    let verify = verifiers.get(id);
    if (!verify) {
      verify = createVerifier({
        key: pem,
        algorithms: ["RS256"],
        allowedIss: issuer,
        allowedAud: aud,
        requiredClaims: ["iss", "aud", "sub", "exp", "iat", "jti"],
        // Expiry is checked below against the injected clock (fast-jwt's clock is fixed per verifier).
        ignoreExpiration: true,
        cache: VERIFIED_CACHE_SIZE,
      });
      verifiers.set(id, verify);
    }
    return verify;
  };
  return (token: string, aud: string): Record<string, unknown> | null => {
    if (!TOKEN_SHAPE.test(token)) return null;
    let claims: Record<string, unknown>;
    try {
      const header = JSON.parse(Buffer.from(token.slice(0, token.indexOf(".")), "base64url").toString("utf8"));
      const verify = typeof header?.kid === "string" ? verifierFor(header.kid, aud) : undefined;
      if (!verify) return null;
      claims = verify(token);
    } catch {
      return null;
    }
    const now = clock.now();
    if (typeof claims.exp !== "number" || claims.exp * 1000 < now) return null;
    // A token issued in the future (beyond a small allowance for clock skew between instances) was
    // not issued by this service's clock.
    if (typeof claims.iat !== "number" || claims.iat * 1000 > now + IAT_SKEW_MS) return null;
    return claims;
  };
}

export default fp(
  async function authPlugin(app: FastifyInstance, opts: AuthOptions) {
    const { keyring, issuer, clock } = opts;
    await app.register(fastifyJwt, {
      // Signing only: tokens are verified by bearerVerifier below.
      secret: { private: keyring.current.privateKeyPem, public: keyring.current.publicKeyPem },
      sign: { algorithm: "RS256", kid: keyring.current.kid, iss: issuer },
    });
    app.decorateRequest("principal", null);

    const sign = (claims: Record<string, unknown>, aud: string, ttlSeconds: number) => {
      const iat = Math.floor(clock.now() / 1000);
      // Every claim in the payload and no per-call options: @fastify/jwt then signs with the signer
      // it built at registration (per-call options build a new one, parsing the private key again:
      // about a third of a signature's cost).
      return app.jwt.sign({ ...claims, aud, iat, exp: iat + ttlSeconds, jti: randomUUID() });
    };

    const vonage = opts.vonage ? vonageTokens(opts.vonage, { clock, iatSkewMs: IAT_SKEW_MS }) : undefined;

    app.decorate("tokens", {
      vapp: vonage
        ? (u) => vonage.session({ name: u.username ?? "", userId: vappIdOf(u) })
        : (u) => sign({ sub: u.username ?? "", user_id: vappIdOf(u) }, AUDIENCE.vapp, VAPP_TOKEN_TTL),
      access: (u, signedInAt = clock.now()) => ({
        token: sign({ sub: toUlid(u.id), role: u.role, auth_time: Math.floor(signedInAt / 1000) }, AUDIENCE.v1, ACCESS_TOKEN_TTL),
        expiresIn: ACCESS_TOKEN_TTL,
      }),
      guest: (g) => ({
        token: sign({ sub: toUlid(g.id), role: "guest" }, AUDIENCE.v1, opts.guestTokenTtlSeconds),
        expiresIn: opts.guestTokenTtlSeconds,
      }),
    } satisfies TokenIssuer);

    const refuse = (tokenProblem: TokenProblem) => new AppError("unauthorized", null, { tokenProblem });

    const verifyToken = bearerVerifier({ keyring, issuer, clock });
    type Verify = (token: string) => Record<string, unknown> | null;
    const forAudience = (aud: string): Verify => (token) => verifyToken(token, aud);
    // Vonage mode: the application's session tokens, and only those, are V-app tokens.
    const verifyVapp = vonage ? vonage.verifySession : forAudience(AUDIENCE.vapp);
    const verifyV1 = forAudience(AUDIENCE.v1);
    /** Verifies the bearer token with `verify` and returns its claims. */
    async function verifyBearer(req: FastifyRequest, verify: Verify): Promise<Record<string, unknown>> {
      const header = req.headers.authorization;
      if (!header) throw refuse("missing");
      if (!header.startsWith("Bearer ")) throw refuse("invalid");
      const claims = verify(header.slice(7));
      if (!claims) throw refuse("invalid");
      return claims;
    }

    /** The caller rule for accounts: the account as it is now, with its current role. */
    async function currentUser(account: User | null, claims: Record<string, unknown>): Promise<UserPrincipal> {
      if (!account) throw unknownCaller();
      const signedInAt = typeof claims.auth_time === "number" ? claims.auth_time * 1000 : null;
      return { kind: "user", id: account.id, role: account.role, account, token: { id: String(claims.jti ?? ""), expiresAt: Number(claims.exp) * 1000, signedInAt } };
    }

    app.decorate("securitySchemes", {
      vappToken: async (req) => {
        const claims = await verifyBearer(req, verifyVapp);
        if (typeof claims.user_id !== "string" || claims.user_id === "") throw refuse("missing_user_id");
        req.principal = await currentUser(await opts.callers.accountByVappId(claims.user_id), claims);
      },
      accessToken: async (req) => {
        const claims = await verifyBearer(req, verifyV1);
        const id = typeof claims.sub === "string" ? fromUlid(claims.sub) : null;
        // The role claim only tells an access token from a guest token; the account's role decides.
        if (!id || claims.role === "guest" || typeof claims.role !== "string") throw refuse("invalid");
        req.principal = await currentUser(await opts.callers.accountNow(id), claims);
      },
      guestToken: async (req) => {
        const claims = await verifyBearer(req, verifyV1);
        const id = typeof claims.sub === "string" ? fromUlid(claims.sub) : null;
        if (!id || claims.role !== "guest") throw refuse("invalid");
        if (!(await opts.callers.guestActive(id))) throw unknownCaller();
        req.principal = { kind: "guest", id };
      },
    });
  },
  { name: "auth" },
);
