// Notifications (docs/notifications.md): the caller's list, unread count, marking read, and the
// live channel (GET /v1/events, Server-Sent Events).
import type { OutgoingHttpHeaders } from "node:http";
import type { FastifyInstance } from "fastify";
import { implement, type Handler } from "../../contract/routes.ts";
import { fromUlid, pathId } from "../../domain/ids.ts";
import { pageLimit } from "../../domain/pagination.ts";
import { notificationView, pageView } from "./views.ts";

export default async function notificationRoutes(app: FastifyInstance) {
  const { notifications, events } = app.services;

  implement(app, "listNotifications", async (req) => {
    const { unread, limit, cursor } = req.query;
    return pageView(await notifications.list(req.principal.id, { unread, limit: pageLimit(limit), cursor }), notificationView);
  });

  implement(app, "getUnreadNotificationCount", async (req) => ({ count: await notifications.unreadCount(req.principal.id) }));

  implement(app, "markNotificationRead", async (req, reply) => {
    await notifications.markRead(req.principal.id, pathId(req.params.id));
    return reply.code(204).send();
  });

  implement(app, "markAllNotificationsRead", async (req, reply) => {
    await notifications.markAllRead(req.principal.id);
    return reply.code(204).send();
  });

  // The stream is written to the socket directly (the reply is hijacked): it stays open for as long
  // as the client listens, outside Fastify's send path, whose hooks see a finished response.
  const stream: Handler<"streamEvents"> = async (req, reply) => {
    const { id, token } = req.principal;
    const last = req.headers["last-event-id"];
    // An id that is not a notification's resumes nothing (the list has everything).
    const lastEventId = typeof last === "string" ? fromUlid(last.trim()) : null;
    // The client may go at any moment, during the replay's query too; the stream then ends and is let go.
    const gone = new AbortController();
    const leave = () => gone.abort();
    req.raw.once("close", leave);
    reply.raw.once("close", leave);
    reply.raw.once("error", leave);
    if (req.raw.destroyed || reply.raw.destroyed) leave();
    const body = await events.open(id, token, lastEventId, gone.signal);
    reply.hijack();
    reply.raw.writeHead(200, {
      ...(reply.getHeaders() as OutgoingHttpHeaders),
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      // Proxies that buffer responses (nginx) pass this one through as it is written.
      "x-accel-buffering": "no",
      "x-request-id": req.id,
    });
    body.pipe(reply.raw);
    return reply;
  };
  // No HEAD route: it would open a stream whose bytes are all discarded.
  implement(app, "streamEvents", stream, { route: { exposeHeadRoute: false } });
}
