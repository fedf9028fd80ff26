// Payment history (SPEC 4.9): one entry per captured window. The guest of the call sees a charge
// (the amount paid); the host sees an earning (gross, the 7 % platform fee, net).
import type { Db } from "../db/client.ts";
import type { Capture } from "../db/generated/client.ts";
import type { Principal } from "./calls.ts";
import { toUlid } from "./ids.ts";
import { formatCents } from "./money.ts";
import { afterCursor, newestFirst, toPage } from "./pagination.ts";

export function payments({ db }: { db: Db }) {
  return {
    async history(p: Principal, q: { type?: "charge" | "earning"; limit: number; cursor?: string }) {
      const charges = { guestId: p.id, call: { guestKind: p.kind } };
      const earnings = p.kind === "user" ? { hostId: p.id } : null;
      const who =
        q.type === "charge" ? [charges] : q.type === "earning" ? (earnings ? [earnings] : []) : [charges, ...(earnings ? [earnings] : [])];
      const rows: Capture[] = who.length
        ? await db.capture.findMany({
            where: { AND: [{ OR: who }, afterCursor("payments", q.cursor)] },
            orderBy: newestFirst,
            take: q.limit + 1,
          })
        : [];
      return toPage("payments", rows, q.limit, (c) => {
        const earning = p.kind === "user" && c.hostId === p.id;
        return {
          id: toUlid(c.id),
          type: earning ? ("earning" as const) : ("charge" as const),
          call_id: toUlid(c.callId),
          window: c.windowIndex,
          amount: formatCents(c.grossCents),
          fee: earning ? formatCents(c.feeCents) : null,
          net: earning ? formatCents(c.netCents) : null,
          currency: "usd" as const,
          created_at: c.createdAt.toISOString(),
        };
      });
    },
  };
}
