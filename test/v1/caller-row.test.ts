// The caller rule's read (accounts.byId) is raw SQL on Prisma's connections: it must return exactly
// what Prisma returns for the same row, every field of the model, on both databases.
import t from "tap";
import { testApp } from "../helpers/app.ts";

t.test("the account read by raw SQL is the account Prisma reads, field for field", async (t) => {
  const { app } = await testApp(t);
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
});
