// The e-mail templates, rendered (src/domain/mail): every kind in every language says every value
// it is given in both parts, the two parts carry the same words, HTML is escaped, es and fr are
// translated, and a render is the same whatever the machine's time zone.
import t from "tap";
import { LANGUAGES, type Language } from "../../src/domain/language.ts";
import { formatFor, renderMail, TEMPLATES, type Format, type MailData, type MailKind } from "../../src/domain/mail/templates.ts";

const TO = "someone@example.com";
/** 14:05 UTC: another hour, or another day, in most zones. */
const AT = new Date("2026-11-30T14:05:00Z");
const EVIL = `<script>alert("x")</script> & 'co'`;

// A new kind without sample data does not compile.
const SAMPLES = {
  verify_email: { name: "Ana Lucía", token: "vrf-K7QW-M9XP-TZDH", validForMs: 48 * 3_600_000 },
  password_reset: { name: "Ana Lucía", token: "rst-BWNJ-HCQV-RXLE", validForMs: 3_600_000 },
  call_incoming: { name: "Ana Lucía", guestName: "Bruno Keller", shortCode: "kq7fzd", rateCents: 1250, windowMinutes: 15, answerBy: AT },
  call_missed: { name: "Ana Lucía", guestName: "Bruno Keller", shortCode: "kq7fzd", waitedFrom: AT, answerWithinMs: 5 * 60_000 },
  call_cancelled: { name: "Bruno Keller", hostName: "Ana Lucía", waitedFrom: AT },
  receipt: {
    name: "Bruno Keller",
    hostName: "Ana Lucía",
    callId: "call_01JDXQ8M6VZB",
    startedAt: AT,
    endedAt: new Date("2026-11-30T14:27:40Z"),
    minutes: 23,
    windows: 2,
    rateCents: 5368,
    amountCents: 123_464,
    card: { brand: "Visa", last4: "4242" },
  },
  earnings: {
    name: "Ana Lucía",
    guestName: "Bruno Keller",
    callId: "call_01JDXQ8M6VZB",
    startedAt: AT,
    minutes: 23,
    grossCents: 123_464,
    feeCents: 8642,
    netCents: 114_822,
  },
} satisfies { [K in MailKind]: MailData[K] };
const DATA: { [K in MailKind]: MailData[K] } = SAMPLES;
const KINDS = Object.keys(SAMPLES) as MailKind[];

/** The values each kind is given, as the mail must write them. */
const VALUES: { [K in MailKind]: (d: MailData[K], f: Format) => string[] } = {
  verify_email: (d, f) => [d.name, d.token, f.duration(d.validForMs)],
  password_reset: (d, f) => [d.name, d.token, f.duration(d.validForMs)],
  call_incoming: (d, f) => [d.name, d.guestName, d.shortCode, f.money(d.rateCents), f.time(d.answerBy), f.duration(d.windowMinutes * 60_000)],
  call_missed: (d, f) => [d.name, d.guestName, d.shortCode, f.dateTime(d.waitedFrom), f.duration(d.answerWithinMs)],
  call_cancelled: (d, f) => [d.name, d.hostName, f.dateTime(d.waitedFrom)],
  receipt: (d, f) => [d.name, d.hostName, d.callId, f.dateTime(d.startedAt), f.dateTime(d.endedAt), f.money(d.rateCents), f.money(d.amountCents)],
  earnings: (d, f) => [d.name, d.guestName, d.callId, f.dateTime(d.startedAt), f.money(d.grossCents), f.money(d.feeCents), f.money(d.netCents)],
};
/** Bare numbers, which must each be the value of a table row (a digit alone could be anywhere). */
const NUMBERS: { [K in MailKind]: (d: MailData[K]) => RegExp[] } = {
  verify_email: () => [],
  password_reset: () => [],
  call_incoming: () => [],
  call_missed: () => [],
  call_cancelled: () => [],
  receipt: (d) => [new RegExp(`^${d.minutes}$`), new RegExp(`^${d.windows}$`)],
  earnings: (d) => [new RegExp(`^${d.minutes}$`)],
};

/** What a kind's sample must show (the generic keeps a kind and its data together). */
const expected = <K extends MailKind>(kind: K, f: Format) => ({ values: VALUES[kind](DATA[kind], f), numbers: NUMBERS[kind](DATA[kind]) });

const render = <K extends MailKind>(kind: K, lang: Language, data: MailData[K] = DATA[kind]) => {
  const m = renderMail(kind, lang, TO, data);
  if (m.html === undefined) throw new Error(`${kind}/${lang}: no HTML part`);
  return { ...m, html: m.html };
};

const collapse = (s: string) => s.replace(/\s+/g, " ").trim();
const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };
const decode = (s: string) =>
  s.replace(/&(?:#(\d+)|#x([0-9a-f]+)|([a-z]+));/gi, (m, dec?: string, hex?: string, name?: string) =>
    dec ? String.fromCodePoint(Number(dec)) : hex ? String.fromCodePoint(parseInt(hex, 16)) : (NAMED[name!.toLowerCase()] ?? m));
const bodyOf = (html: string) => html.slice(html.indexOf("<body"));
/** What a reader sees of the HTML: the body, tags dropped, entities decoded (in that order). */
const visible = (html: string) => collapse(decode(bodyOf(html).replace(/<[^>]*>/g, " ")));

/**
 * The HTML's paragraphs and table rows in document order (a row as "label: value", as the text
 * writes it), its rows, and every piece it shows (a row's label and value apart).
 */
function htmlUnits(html: string): { units: string[]; rows: [string, string][]; shown: string[] } {
  const units: string[] = [];
  const rows: [string, string][] = [];
  const shown: string[] = [];
  const re = /<p\b[^>]*>([\s\S]*?)<\/p>|<tr>\s*<th\b[^>]*>([\s\S]*?)<\/th>\s*<td\b[^>]*>([\s\S]*?)<\/td>\s*<\/tr>/g;
  for (const m of bodyOf(html).matchAll(re)) {
    if (m[1] !== undefined) {
      const p = collapse(decode(m[1]));
      units.push(p);
      shown.push(p);
    } else {
      const [label, value] = [collapse(decode(m[2]!)), collapse(decode(m[3]!))];
      rows.push([label, value]);
      units.push(`${label}: ${value}`);
      shown.push(label, value);
    }
  }
  return { units, rows, shown };
}

/** The text part's lines (the signature delimiter left out), each trimmed, padding collapsed. */
const textLines = (text: string) => text.split("\n").filter((l) => l.trim() !== "" && l !== "-- ").map(collapse);
/** The text part's blocks before the signature. */
const textBlocks = (text: string) => text.slice(0, text.lastIndexOf("\n\n-- \n")).split("\n\n");

t.test("every kind has sample data and a template in every language", async (t) => {
  for (const lang of LANGUAGES) {
    t.same(Object.keys(TEMPLATES[lang]).filter((k) => k !== "footer").sort(), [...KINDS].sort(), lang);
    t.match(TEMPLATES[lang].footer, /\S/, `${lang}: a footer`);
    t.notMatch(TEMPLATES[lang].footer, /\n/, `${lang}: the footer is one line`);
  }
});

for (const lang of LANGUAGES) {
  t.test(`${lang}: every kind renders whole`, async (t) => {
    const f = formatFor(lang);
    for (const kind of KINDS) {
      t.test(kind, async (t) => {
        const m = render(kind, lang);
        t.equal(m.to, TO);
        t.match(m.subject, /\S/, "a subject");
        t.notMatch(m.subject, /[\r\n]/, "the subject is one line");
        t.equal(m.subject, m.subject.trim(), "no padding around the subject");

        t.match(m.text, /\S/, "a text part");
        t.ok(m.text.endsWith(`\n\n-- \n${TEMPLATES[lang].footer}\n`), "the text ends with the footer after the signature delimiter");
        t.equal(m.text.split("\n-- \n").length, 2, "one signature delimiter");

        t.match(m.html, /^<!doctype html>\n<html lang="[^"]*">/i, "an HTML document");
        t.equal(/<html lang="([^"]*)">/.exec(m.html)?.[1], lang, "the HTML says its language");
        t.equal(decode(/<title>([\s\S]*?)<\/title>/.exec(m.html)?.[1] ?? ""), m.subject, "the HTML title is the subject");

        const text = visible(m.html);
        const { values, numbers } = expected(kind, f);
        for (const value of values) {
          t.ok(m.text.includes(value), `the text says ${JSON.stringify(value)}`);
          t.ok(text.includes(collapse(value)), `the HTML says ${JSON.stringify(value)}`);
        }
        const { rows } = htmlUnits(m.html);
        for (const re of numbers) t.ok(rows.some(([, value]) => re.test(value)), `a row's value is ${re}`);
      });
    }
  });

  t.test(`${lang}: the text and HTML parts carry the same words`, async (t) => {
    for (const kind of KINDS) {
      for (const [what, data] of [["sample", DATA[kind]], ["hostile names", hostile(kind)]] as const) {
        const m = render(kind, lang, data);
        const { units, rows, shown } = htmlUnits(m.html);
        // Line for line, in order: paragraphs and codes as they are, a table row as label and value.
        t.same(textLines(m.text), units, `${kind} (${what})`);
        t.ok(rows.every(([label, value]) => label !== "" && value !== ""), `${kind}: rows have a label and a value`);
        // Nothing visible in the HTML outside those paragraphs and cells.
        t.equal(visible(m.html), shown.join(" "), `${kind} (${what}): nothing else shown`);
      }
    }
  });
}

function hostile<K extends MailKind>(kind: K): MailData[K] {
  const d: Record<string, unknown> = { ...DATA[kind] };
  for (const k of ["name", "guestName", "hostName"]) if (k in d) d[k] = EVIL;
  return d as MailData[K];
}

t.test("names are escaped in HTML and verbatim in text", async (t) => {
  for (const lang of LANGUAGES) {
    for (const kind of KINDS) {
      const m = render(kind, lang, hostile(kind));
      const at = `${lang}/${kind}`;
      t.notMatch(m.html, /<script/i, `${at}: no raw <script`);
      t.notOk(m.html.includes(`alert("x")`), `${at}: quotes escaped`);
      t.notOk(m.html.includes(`'co'`), `${at}: apostrophes escaped`);
      t.notMatch(m.html, /&(?!#\d+;|#x[0-9a-f]+;|[a-z]+;)/i, `${at}: every & starts an entity`);
      t.ok(visible(m.html).includes(EVIL), `${at}: the name reads as given in HTML`);
      t.ok(m.text.includes(EVIL), `${at}: the name is verbatim in the text`);
      t.notOk(m.text.includes("&#"), `${at}: no entities in the text`);
    }
    // The names that are in a subject: verbatim there (a header, not HTML), escaped in the title.
    for (const kind of ["call_incoming", "call_missed", "call_cancelled", "receipt", "earnings"] as const) {
      const m = render(kind, lang, hostile(kind));
      t.ok(m.subject.includes(EVIL), `${lang}/${kind}: the subject says the name verbatim`);
    }
  }
});

t.test("the card: its last four digits when given, no card line when not", async (t) => {
  for (const lang of LANGUAGES) {
    const withCard = render("receipt", lang);
    const noCard = render("receipt", lang, { ...SAMPLES.receipt, card: null });
    for (const [part, s] of [["text", withCard.text], ["HTML", visible(withCard.html)]] as const) {
      t.match(s, /Visa •••• 4242/, `${lang}: the ${part} names the card`);
    }
    for (const [part, s] of [["text", noCard.text], ["HTML", noCard.html]] as const) {
      t.notOk(s.includes("••••"), `${lang}: no card line in the ${part}`);
      t.notOk(s.includes("4242"), `${lang}: no card digits in the ${part}`);
    }
    t.equal(htmlUnits(withCard.html).rows.length, htmlUnits(noCard.html).rows.length + 1, `${lang}: exactly one row more with a card`);
    t.equal(textLines(withCard.text).length, textLines(noCard.text).length + 1, `${lang}: exactly one text line more with a card`);
  }
});

t.test("money is written as each language writes it", async (t) => {
  // 12.50 is call_incoming's rate; 1,234.64 is the receipt's total.
  const incoming = (lang: Language) => render("call_incoming", lang);
  const receipt = (lang: Language) => render("receipt", lang);
  for (const lang of LANGUAGES) {
    const f = formatFor(lang);
    t.ok(incoming(lang).text.includes(f.money(1250)), `${lang}: the rate as formatFor writes it`);
    t.ok(receipt(lang).subject.includes(f.money(123_464)), `${lang}: the total in the receipt's subject`);
  }
  t.ok(incoming("en").text.includes("$12.50"), "en: $12.50");
  t.ok(receipt("en").text.includes("$1,234.64"), "en: $1,234.64");
  t.match(incoming("es").text, /12,50\sUS\$/, "es: 12,50 US$");
  t.notOk(incoming("es").text.includes("$12.50"), "es: not the English amount");
  t.match(incoming("fr").text, /12,50\s\$US/, "fr: 12,50 $US");
  t.match(receipt("fr").text, /1\s234,64\s\$US/, "fr: 1 234,64 $US");
  t.notOk(incoming("fr").text.includes("$12.50"), "fr: not the English amount");
});

t.test("es and fr are translated", async (t) => {
  for (const kind of KINDS) {
    const en = render(kind, "en");
    const enBlocks = textBlocks(en.text);
    const enRows = htmlUnits(en.html).rows;
    for (const lang of ["es", "fr"] as const) {
      const m = render(kind, lang);
      const blocks = textBlocks(m.text);
      const rows = htmlUnits(m.html).rows;
      t.not(m.subject, en.subject, `${lang}/${kind}: subject`);
      t.not(blocks[1], enBlocks[1], `${lang}/${kind}: first paragraph after the greeting`);
      t.not(blocks[0], enBlocks[0], `${lang}/${kind}: greeting`);
      t.equal(blocks.length, enBlocks.length, `${lang}/${kind}: as many blocks as in English`);
      t.equal(rows.length, enRows.length, `${lang}/${kind}: as many rows as in English`);
      rows.forEach(([label], i) => t.not(label, enRows[i]?.[0], `${lang}/${kind}: row label ${JSON.stringify(label)}`));
      t.same(textBlocks(m.text).map((b) => b.startsWith("    ")), enBlocks.map((b) => b.startsWith("    ")), `${lang}/${kind}: the code where English has it`);
    }
  }
  t.not(TEMPLATES.es.footer, TEMPLATES.en.footer, "es: footer");
  t.not(TEMPLATES.fr.footer, TEMPLATES.en.footer, "fr: footer");
});

t.test("renders are deterministic and in UTC whatever the machine's zone", async (t) => {
  const renderAll = () => LANGUAGES.flatMap((lang) => KINDS.map((kind) => render(kind, lang)));
  const before = process.env.TZ;
  t.teardown(() => {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  });
  process.env.TZ = "UTC";
  const reference = renderAll();
  t.same(renderAll(), reference, "the same twice");
  for (const tz of ["America/Los_Angeles", "Asia/Kathmandu", "Pacific/Kiritimati"]) {
    process.env.TZ = tz;
    t.not(AT.getHours(), 14, `${tz} is in effect`);
    t.same(renderAll(), reference, `the same in ${tz}`);
  }

  const at = /\b(?:14:05|2:05\sPM)\sUTC\b/;
  for (const lang of LANGUAGES) {
    for (const kind of ["call_incoming", "call_missed", "call_cancelled", "receipt", "earnings"] as const) {
      const m = render(kind, lang);
      t.match(m.text, at, `${lang}/${kind}: 14:05 UTC in the text`);
      t.match(visible(m.html), at, `${lang}/${kind}: 14:05 UTC in the HTML`);
    }
    const day = formatFor(lang).dateTime(AT);
    t.match(day, /\b30\b/, `${lang}: ${day} is the 30th`);
    t.match(day, /\b2026\b/, `${lang}: ${day} is in 2026`);
    t.match(day, /\b(?:14:05|2:05\sPM)\sUTC$/, `${lang}: ${day} ends with the time in UTC`);
    for (const kind of ["call_missed", "call_cancelled", "receipt", "earnings"] as const) {
      t.ok(render(kind, lang).text.includes(day), `${lang}/${kind}: the date and time of the call`);
    }
  }
});

t.test("lengths of time are written by the language's rules, singular and plural", async (t) => {
  const facts: Record<Language, [number, string][]> = {
    en: [[48 * 3_600_000, "48 hours"], [3_600_000, "1 hour"], [5 * 60_000, "5 minutes"], [60_000, "1 minute"]],
    es: [[48 * 3_600_000, "48 horas"], [3_600_000, "1 hora"], [5 * 60_000, "5 minutos"], [60_000, "1 minuto"]],
    fr: [[48 * 3_600_000, "48 heures"], [3_600_000, "1 heure"], [5 * 60_000, "5 minutes"], [60_000, "1 minute"]],
  };
  for (const lang of LANGUAGES) {
    for (const [ms, words] of facts[lang]) t.equal(formatFor(lang).duration(ms).replace(/\s/g, " "), words, `${lang}: ${words}`);
    const reset = renderMail("password_reset", lang, TO, SAMPLES.password_reset);
    t.match(reset.text.replace(/\s/g, " "), facts[lang][1]![1], `${lang}: the reset code's hour, from the data`);
    const oneMinute = renderMail("call_incoming", lang, TO, { ...SAMPLES.call_incoming, windowMinutes: 1 });
    const rows = oneMinute.text.split("\n").map((l) => l.replace(/\s+/g, " "));
    t.ok(rows.some((l) => l.includes(":") && l.endsWith(` ${facts[lang][3]![1]}`)), `${lang}: a one-minute window (a table row)`);
  }
});

t.test("a name with line breaks or control characters adds no lines of its own", async (t) => {
  const forged = "Bruno\r\nTotal charged: $0.00\u0007\n\nPay at evil.example";
  for (const lang of LANGUAGES) {
    const mail = renderMail("call_cancelled", lang, TO, { ...SAMPLES.call_cancelled, hostName: forged });
    t.notOk(/[\r\n]/.test(mail.subject), `${lang}: the subject is one line`);
    t.notOk(mail.text.split("\n").some((l) => l.startsWith("Total charged") || l.startsWith("Pay at")), `${lang}: no forged line in the text`);
    t.match(mail.text, "Bruno Total charged: $0.00 Pay at evil.example", `${lang}: the name, on one line`);
    t.notOk(mail.text.includes("\u0007"), `${lang}: no control character`);
  }
});
