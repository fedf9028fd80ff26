// The languages people are answered and written to in: error messages (src/http/i18n.ts) and
// e-mails (src/domain/mail). A user's language is kept with the account, a guest's with the guest.

export const LANGUAGES = ["en", "es", "fr"] as const;
export type Language = (typeof LANGUAGES)[number];

export const isLanguage = (s: string): s is Language => (LANGUAGES as readonly string[]).includes(s);
/** A stored language, or English for anything this version does not write in. */
export const languageOr = (s: string | null | undefined): Language => (s && isLanguage(s) ? s : "en");
