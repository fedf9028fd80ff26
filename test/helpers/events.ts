// A real Server-Sent Events client for GET /v1/events: fetch against a listening server, the body
// read as it arrives and split into events (event, id, data) and comment lines.
import type { FastifyInstance } from "fastify";

export interface SseEvent {
  event: string;
  id: string | null;
  data: string;
}

export class EventStream {
  events: SseEvent[] = [];
  comments: string[] = [];
  ended = false;
  private waiters: (() => void)[] = [];

  private constructor(readonly response: Response) {}

  static open(app: FastifyInstance, token: string, headers: Record<string, string> = {}): Promise<EventStream> {
    const { port } = app.server.address() as { port: number };
    return EventStream.connect(`http://127.0.0.1:${port}`, token, headers);
  }

  /** A stream from the server at `base` (another process). */
  static async connect(base: string, token: string, headers: Record<string, string> = {}): Promise<EventStream> {
    const controller = new AbortController();
    const response = await fetch(`${base}/v1/events`, {
      headers: { authorization: `Bearer ${token}`, accept: "text/event-stream", ...headers },
      signal: controller.signal,
    });
    const stream = new EventStream(response);
    stream.abort = () => controller.abort();
    if (response.ok && response.body) void stream.read(response.body);
    return stream;
  }

  /** Disconnects, as a closed browser tab does. */
  abort: () => void = () => undefined;

  private async read(body: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          this.parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
        this.wake();
      }
    } catch {
      // aborted by the test
    }
    this.ended = true;
    this.wake();
  }

  private parse(block: string) {
    const event: SseEvent = { event: "message", id: null, data: "" };
    let isEvent = false;
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) this.comments.push(line.slice(1).trim());
      else if (line.startsWith("event: ")) (event.event = line.slice(7)), (isEvent = true);
      else if (line.startsWith("id: ")) event.id = line.slice(4);
      else if (line.startsWith("data: ")) (event.data = line.slice(6)), (isEvent = true);
    }
    if (isEvent) this.events.push(event);
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `done()` holds (up to 5 s). */
  async until(what: string, done: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; events ${JSON.stringify(this.events.map((e) => e.event))}, comments ${JSON.stringify(this.comments)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** The notifications received so far, parsed. */
  get notifications(): Record<string, any>[] {
    return this.events.filter((e) => e.event === "notification").map((e) => JSON.parse(e.data) as Record<string, any>);
  }

  /** Waits for the n-th notification (1-based) and returns it. */
  async notification(n: number): Promise<Record<string, any>> {
    await this.until(`notification ${n}`, () => this.notifications.length >= n);
    return this.notifications[n - 1]!;
  }
}
