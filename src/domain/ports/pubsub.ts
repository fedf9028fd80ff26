// Publish/subscribe between instances (signaling fan-out). In-process by default; a Redis
// implementation takes the same port when REDIS_URL is set.

export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  /** Returns a function that ends the subscription. */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
