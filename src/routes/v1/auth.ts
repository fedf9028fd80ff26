// /v1/auth: register, login, refresh, logout, guest, e-mail verification, password reset.
import type { FastifyInstance } from "fastify";
import { implement } from "../../contract/routes.ts";
import type { User } from "../../domain/accounts.ts";
import { negotiateLanguage } from "../../http/i18n.ts";
import { guestSessionView, sessionView, userView } from "./views.ts";

export default async function authRoutes(app: FastifyInstance) {
  const { identity } = app.services;

  const session = (user: User, refreshToken: string) => sessionView(user, app.tokens.access({ id: user.id, role: user.role }), refreshToken);

  implement(
    app,
    "registerUser",
    async (req, reply) => {
      const { email, password, display_name } = req.body;
      const language = negotiateLanguage(req.headers["accept-language"]);
      const { user, refreshToken } = await identity.register({ email, password, displayName: display_name, language });
      return reply.status(201).send(session(user, refreshToken));
    },
  );

  implement(
    app,
    "loginUser",
    async (req) => {
      const { user, refreshToken } = await identity.login(req.body);
      return session(user, refreshToken);
    },
  );

  implement(app, "refreshSession", async (req) => {
    const { user, refreshToken, signedInAt } = await identity.refresh(req.body.refresh_token);
    const access = app.tokens.access({ id: user.id, role: user.role }, signedInAt);
    return { access_token: access.token, refresh_token: refreshToken, expires_in: access.expiresIn };
  });

  implement(app, "logoutSession", async (req, reply) => {
    await identity.logout(req.body.refresh_token);
    return reply.status(204).send();
  });

  implement(app, "createGuest", async (req, reply) => {
    const guest = await identity.createGuest({
      displayName: req.body?.display_name ?? null,
      email: req.body?.email ?? null,
      language: negotiateLanguage(req.headers["accept-language"]),
    });
    return reply.status(201).send(guestSessionView(guest, app.tokens.guest({ id: guest.id })));
  });

  implement(app, "verifyEmail", async (req) => ({ user: userView(await identity.verifyEmail(req.body.token)) }));

  implement(app, "resendVerificationEmail", async (req, reply) => {
    await identity.resendVerification(req.principal.id);
    return reply.status(202).send();
  });

  implement(
    app,
    "requestPasswordReset",
    async (req, reply) => {
      identity.requestPasswordReset(req.body.email);
      return reply.status(202).send();
    },
  );

  implement(app, "confirmPasswordReset", async (req, reply) => {
    await identity.confirmPasswordReset(req.body.token, req.body.password);
    return reply.status(204).send();
  });
}
