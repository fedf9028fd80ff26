// Money as the API writes it ("3.00": USD, two decimals, a string) and as the pages show it
// ("$3.00"). Arithmetic is done in integer cents, never on floating-point dollars. Pure, with no
// DOM: the server-side templates (src/web/pages.ts) use it too.

const AMOUNT = /^(\d+)\.(\d{2})$/;

/** "3.00" → 300. Throws on anything that is not the API's two-decimal format. */
export function toCents(amount: string): number {
  const match = AMOUNT.exec(amount);
  if (!match) throw new Error(`not an amount: ${amount}`);
  return Number(match[1]) * 100 + Number(match[2]);
}

const USD = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

/** 300 → "$3.00"; 599940 → "$5,999.40". */
export function formatCents(cents: number): string {
  return USD.format(cents / 100);
}

/** "3.00" → "$3.00". */
export function formatAmount(amount: string): string {
  return formatCents(toCents(amount));
}

/**
 * What an active call has cost after `seconds`: every started minute at the rate (the first
 * minute starts the moment the call does).
 */
export function costOfSeconds(seconds: number, ratePerMinute: string): number {
  return Math.max(1, Math.ceil(seconds / 60)) * toCents(ratePerMinute);
}

/**
 * What a host typed as a rate ("2.5", "2.50", "$3") in the API's format ("2.50"), or null when it
 * is not an amount. The API checks the range; this only spares the host its two-decimals rule.
 */
export function normaliseAmount(typed: string): string | null {
  const match = /^\$?\s*(\d+)(?:[.,](\d{1,2}))?$/.exec(typed.trim());
  if (!match) return null;
  return `${Number(match[1])}.${(match[2] ?? "").padEnd(2, "0")}`;
}
