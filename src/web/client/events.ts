// The host's live notifications: `GET /v1/events`, a Server-Sent Events stream. The browser's
// EventSource cannot send the Authorization header, so the stream is read through the API client
// (`parseAs: "stream"`) with a small parser of the event-stream format, and reconnected here:
// after a drop, and with a fresh access token when the server ends it at the token's expiry.
import { api, ApiError, request, type Schemas } from "./api.ts";
import { sleep } from "./dom.ts";

export type Notification = Schemas["Notification"];

export interface NotificationHandlers {
  /** The stream is (re)connected: anything missed while it was down should be read again. */
  onOpen(): void;
  onNotification(notification: Notification): void;
  /** A failure that retrying will not fix (the session is over…). The stream has stopped. */
  onFatal(err: unknown): void;
}

/** One event of the stream (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
interface ServerSentEvent {
  event: string;
  data: string;
  id: string | null;
}

/** Reads the caller's notifications until `signal` aborts. */
export async function followNotifications(auth: () => Promise<{ Authorization: string }>, handlers: NotificationHandlers, signal: AbortSignal): Promise<void> {
  let lastEventId: string | null = null;
  let retryMs = 3_000;
  while (!signal.aborted) {
    try {
      const stream: ReadableStream<Uint8Array> | null = await request(
        api.GET("/v1/events", {
          params: { header: lastEventId ? { "Last-Event-ID": lastEventId } : {} },
          headers: await auth(),
          parseAs: "stream",
          signal,
        }),
      );
      if (!stream) throw new Error("the event stream has no body");
      handlers.onOpen();
      for await (const event of serverSentEvents(stream, (ms) => (retryMs = ms))) {
        if (event.event === "notification") {
          if (event.id) lastEventId = event.id;
          handlers.onNotification(JSON.parse(event.data) as Notification);
        } else if (event.event === "replaced") {
          // Another stream opened with this very token: that one gets the notifications now.
          return;
        }
        // `token_expired`: the server closes the stream; the loop reconnects with a fresh token.
      }
    } catch (err) {
      if (signal.aborted) return;
      // Client errors do not get better by retrying; network errors and 5xx do.
      if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429) {
        handlers.onFatal(err);
        return;
      }
    }
    await sleep(retryMs);
  }
}

/** The events of an event stream, as they arrive. `onRetry`: the server's `retry:` advice. */
async function* serverSentEvents(stream: ReadableStream<Uint8Array>, onRetry: (ms: number) => void): AsyncGenerator<ServerSentEvent> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | null = null;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop() ?? ""; // an incomplete line waits for the next chunk
      for (const line of lines) {
        if (line === "") {
          // A blank line ends an event; one without data is nothing to deliver.
          if (data.length > 0) yield { event: event || "message", data: data.join("\n"), id };
          event = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue; // a comment (the heartbeat)
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        const text = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = text;
        else if (field === "data") data.push(text);
        else if (field === "id") id = text;
        else if (field === "retry" && /^\d+$/.test(text)) onRetry(Number(text));
      }
    }
  } finally {
    reader.releaseLock();
  }
}
