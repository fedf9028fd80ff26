// The host's live notifications: `GET /v1/events`, a Server-Sent Events stream. The browser's
// EventSource cannot send the Authorization header, so the stream is read through the API client
// (`parseAs: "stream"`) with a small parser of the event-stream format, and reconnected here:
// after a drop, and with a fresh access token when the server ends it at the token's expiry.
import { api, isFinalError, request, type Auth, type Schemas } from "./api.ts";
import { sleep } from "./dom.ts";

export type Notification = Schemas["Notification"];

export interface NotificationHandlers {
  /** The stream is (re)connected: anything missed while it was down should be read again. */
  onOpen(): void;
  onNotification(notification: Notification): void;
  /**
   * The stream has stopped for good: a failure that retrying will not fix (the session is over…),
   * or another stream took over (`replaced`). `err` says so in words the host can act on.
   */
  onFatal(err: unknown): void;
}

/** One event of the stream (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
interface ServerSentEvent {
  event: string;
  data: string;
  id: string | null;
}

/** Reads the caller's notifications until `signal` aborts. */
export async function followNotifications(auth: Auth, handlers: NotificationHandlers, signal: AbortSignal): Promise<void> {
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
          // Another stream opened with this very access token (one stream per token): that one
          // gets the notifications now. A reload signs this page in afresh, with a token of its own.
          handlers.onFatal(new Error("Live updates have stopped here: another connection with this session took them over. Reload the page to get them back."));
          return;
        }
        // `token_expired`: the server closes the stream; the loop reconnects with a fresh token.
      }
    } catch (err) {
      if (signal.aborted) return;
      // Client errors do not get better by retrying; network errors and 5xx do.
      if (isFinalError(err)) {
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
