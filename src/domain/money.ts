// The one money module: integer cents inside, two-decimal USD strings ("2.50") outside.

export const PLATFORM_FEE_PERCENT = 7;
const AMOUNT_RE = /^(0|[1-9][0-9]{0,8})\.([0-9]{2})$/;

/** "2.50" → 250; null when the string is not a non-negative amount with exactly two decimals. */
export function parseCents(amount: string): number | null {
  const m = AMOUNT_RE.exec(amount);
  if (!m) return null;
  return Number(m[1]) * 100 + Number(m[2]);
}

/** 250 → "2.50". */
export function formatCents(cents: number): string {
  if (!Number.isSafeInteger(cents) || cents < 0) throw new RangeError(`not an amount in cents: ${cents}`);
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
}

/** The platform's share of a capture: 7 %, rounded half up to the cent. */
export function platformFee(grossCents: number): number {
  return Math.floor((grossCents * PLATFORM_FEE_PERCENT + 50) / 100);
}

/** Gross, fee and the host's net for one capture. */
export function split(grossCents: number) {
  const feeCents = platformFee(grossCents);
  return { grossCents, feeCents, netCents: grossCents - feeCents };
}
