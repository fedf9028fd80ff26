// The statements every request runs are raw SQL on Prisma's connections (the caller rule's read,
// the profile update, the link insert): each must return exactly what Prisma reads for the same row,
// every field of the model, on both databases.
import t from "tap";
import { testApp } from "../helpers/app.ts";

t.test("the rows raw SQL returns are the rows Prisma reads, field for field", async (t) => {
  const { app, clock } = await testApp(t);
  const at = new Date("2026-11-30T10:11:12.345Z");
  const full = await app.db.user.create({
    data: {
      id: "0193c0de-0000-7000-8000-0000000000a1",
      email: "Ana@Example.com",
      emailKey: "ana@example.com",
      username: "ana",
      displayName: "Ana ✓",
      bio: "línea\nsecond",
      passwordHash: "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA",
      role: "admin",
      emailVerifiedAt: at,
      imageKey: "avatars/ana.webp",
      createdAt: at,
      updatedAt: new Date(at.getTime() + 1),
    },
  });
  const sparse = await app.db.user.create({
    data: { id: "0193c0de-0000-7000-8000-0000000000a2", displayName: "B", passwordHash: "x", createdAt: at, updatedAt: at },
  });
  for (const user of [full, sparse]) {
    const raw = await app.services.accounts.byId(user.id);
    t.strictSame(raw, user, `${user.displayName}: the same values`);
    t.same(Object.keys(raw ?? {}).sort(), Object.keys(user).sort(), "every field of the model, no other");
    t.ok(raw?.createdAt instanceof Date, "timestamps are dates");
  }
  t.equal(await app.services.accounts.byId("0193c0de-0000-7000-8000-0000000000ff"), null, "no such account: null");

  // A profile update and a new link come back as Prisma reads them; a conflict changes nothing.
  const { accounts } = app.services;
  const make = (id: string, username: string) =>
    app.db.user.create({ data: { id, username, displayName: username, bio: "old", passwordHash: "x", role: "host", createdAt: at, updatedAt: at } });
  const ana = await make("0193c0de-0000-7000-8000-0000000000b1", "ana2");
  await make("0193c0de-0000-7000-8000-0000000000b2", "bob");

  const updated = await accounts.updateProfile(ana.id, { displayName: "Ana B", bio: null });
  t.strictSame(updated, await app.db.user.findUnique({ where: { id: ana.id } }), "the returned row is the stored row");
  t.equal(updated.displayName, "Ana B");
  t.equal(updated.bio, null, "bio cleared");
  t.equal(updated.username, "ana2", "a field not in the patch is kept");
  t.equal(updated.updatedAt.getTime(), clock.now(), "updated_at is now");

  await t.rejects(accounts.updateProfile(ana.id, { username: "bob", displayName: "Nope" }), { code: "conflict" }, "a taken username is a conflict");
  t.strictSame(await app.db.user.findUnique({ where: { id: ana.id } }), updated, "and changes nothing");
  await t.rejects(accounts.updateProfile("0193c0de-0000-7000-8000-0000000000bf", { bio: "x" }), { code: "unauthorized" }, "an account gone since its token was checked");

  const { links } = app.services;
  const bare = await links.create(ana.id, { rateCents: 150, windowMinutes: 5 });
  const every = await links.create(ana.id, {
    rateCents: 99999,
    windowMinutes: 1,
    expiresAt: new Date("2027-01-01T00:00:00.000Z"),
    maxUses: 3,
    label: "Office hours ✓",
    scheduledStart: new Date("2026-12-01T09:00:00.000Z"),
    scheduledEnd: new Date("2026-12-01T10:00:00.000Z"),
  });
  for (const link of [bare, every]) t.strictSame(link, await app.db.callLink.findUnique({ where: { id: link.id } }), `link ${link.label ?? "(no label)"}: the stored row`);
  t.equal(bare.useCount, 0, "the column default applies");
  t.equal(every.rateCents, 99999);
  t.equal(every.isActive, true);
});
