// Token verification, in process: the service's bearer verifier (src/plugins/auth.ts) on a real
// access token, against a bare RS256 signature check with the public key parsed once (the floor
// any JWT library sits on). Two service figures: a token seen before (what a client's every request
// after its first costs: the verifier keeps the claims of tokens it checked) and tokens seen once.
import { createPublicKey, createVerify } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createSigner } from "fast-jwt";
import { loadKeyring } from "../../src/domain/keys.ts";
import { AUDIENCE, bearerVerifier } from "../../src/plugins/auth.ts";

export async function tokenBenchmark(iterations = 20_000) {
  const dir = mkdtempSync(path.join(tmpdir(), "vidivo-bench-keys-"));
  try {
    const keyring = loadKeyring({ env: "development", dataDir: dir }, () => {});
    const clock = { now: () => Date.now() };
    const issuer = "http://bench.local";
    const sign = createSigner({ key: keyring.current.privateKeyPem, algorithm: "RS256", kid: keyring.current.kid, iss: issuer, expiresIn: 900_000 });
    const token = sign({ sub: "01JBENCH", role: "user", aud: AUDIENCE.v1, jti: "bench" });
    const verify = bearerVerifier({ keyring, issuer, clock });
    if (!verify(token, AUDIENCE.v1)) throw new Error("the benchmark token does not verify");

    const key = createPublicKey(keyring.current.publicKeyPem);
    const [h, p, s] = token.split(".") as [string, string, string];
    const signature = Buffer.from(s, "base64url");
    const bare = () => createVerify("RSA-SHA256").update(`${h}.${p}`).verify(key, signature);

    const time = (fn: () => unknown) => {
      for (let i = 0; i < 1000; i++) fn(); // warm-up
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < iterations; i++) fn();
      return Number(process.hrtime.bigint() - t0) / 1000 / iterations;
    };
    const fresh = Array.from({ length: 2500 }, (_, i) => sign({ sub: "01JBENCH", role: "user", aud: AUDIENCE.v1, jti: `fresh-${i}` }));
    for (const f of fresh.splice(0, 500)) verify(f, AUDIENCE.v1); // warm-up
    const t0 = process.hrtime.bigint();
    for (const f of fresh) if (!verify(f, AUDIENCE.v1)) throw new Error("a fresh token does not verify");
    const firstSightMicros = Number(process.hrtime.bigint() - t0) / 1000 / fresh.length;
    return { iterations, serviceMicros: time(() => verify(token, AUDIENCE.v1)), firstSightMicros, bareMicros: time(bare) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const t = await tokenBenchmark();
  console.log(`service verifier: ${t.serviceMicros.toFixed(1)} µs a token seen before, ${t.firstSightMicros.toFixed(1)} µs a token seen once; bare RS256 check: ${t.bareMicros.toFixed(1)} µs (${t.iterations} each)`);
}
