// RS256 key management. The signing key comes from JWT_PRIVATE_KEY / JWT_PRIVATE_KEY_FILE, or in
// development from a key generated once into $DATA_DIR/keys (refused in production). Every PEM in
// JWT_KEYS_DIR (a public key, or a private key whose public half is used) is a further
// verification key, so tokens signed by a retired key keep verifying until they expire. Key ids
// are RFC 7638 thumbprints, so every instance derives the same kid. The Vonage application's key
// (VONAGE_PRIVATE_KEY / VONAGE_PRIVATE_KEY_FILE) is loaded here too: it is published in the JWKS
// but is not in the keyring's `publicKeys`, so it never verifies a token of the service's own.
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

export interface VerificationKey {
  kid: string;
  publicKeyPem: string;
  jwk: { kty: "RSA"; n: string; e: string; kid: string; alg: "RS256"; use: "sig" };
}

export interface SigningKey extends VerificationKey {
  privateKeyPem: string;
}

export interface Keyring {
  current: SigningKey;
  /** kid → public PEM, current key included: the keys the service's own tokens are verified with. */
  publicKeys: Map<string, string>;
  /** Every key of `publicKeys`, then the published ones (KeySource.published). */
  jwks(): { keys: VerificationKey["jwk"][] };
}

export interface KeySource {
  env: "production" | "development" | "test";
  dataDir: string;
  privateKeyPem?: string | undefined;
  privateKeyFile?: string | undefined;
  keysDir?: string | undefined;
  /**
   * Listed in the JWKS only, after the service's keys (the Vonage application's key, which signs
   * the V-app tokens in Vonage mode): never one of `publicKeys`.
   */
  published?: VerificationKey | undefined;
}

export class KeyConfigError extends Error {}

function verificationKey(key: KeyObject, origin: string): VerificationKey {
  if (key.asymmetricKeyType !== "rsa") throw new KeyConfigError(`${origin}: RS256 needs an RSA key`);
  if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new KeyConfigError(`${origin}: RSA key shorter than 2048 bits`);
  const pub = key.type === "public" ? key : createPublicKey(key);
  const { n, e } = pub.export({ format: "jwk" }) as { n: string; e: string };
  const kid = createHash("sha256").update(JSON.stringify({ e, kty: "RSA", n })).digest("base64url");
  return { kid, publicKeyPem: pub.export({ format: "pem", type: "spki" }).toString(), jwk: { kty: "RSA", n, e, kid, alg: "RS256", use: "sig" } };
}

function signingKey(pem: string, origin: string): SigningKey {
  let priv;
  try {
    priv = createPrivateKey(pem);
  } catch {
    throw new KeyConfigError(`${origin}: not a PEM private key`);
  }
  return { ...verificationKey(priv, origin), privateKeyPem: priv.export({ format: "pem", type: "pkcs8" }).toString() };
}

/** A retired key: its public half, from a public or a private PEM. */
function retiredKey(pem: string, origin: string): VerificationKey {
  let key;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new KeyConfigError(`${origin}: not a PEM key`);
  }
  return verificationKey(key, origin);
}

const devKeyFile = (dataDir: string) => path.join(dataDir, "keys", "dev-signing-key.pem");
const usesDevKey = (src: KeySource) => !src.privateKeyPem && !src.privateKeyFile && src.env !== "production";

/** Writes a generated development key unless there is one; a concurrent start that loses the race keeps the winner's. */
function saveDevKey(file: string, privateKey: KeyObject) {
  try {
    writeFileSync(file, privateKey.export({ format: "pem", type: "pkcs8" }), { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}

/** Generates the development key once; a concurrent start that loses the race reads the winner's. */
function devKey(dataDir: string): string {
  const file = devKeyFile(dataDir);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    return readFileSync(file, "utf8");
  } catch {
    saveDevKey(file, generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey);
    return readFileSync(file, "utf8");
  }
}

/**
 * The first start's development key, generated on a worker thread (an RSA key takes a few hundred
 * milliseconds of CPU) while the entry point loads the rest of the service; loadKeyring then reads
 * it. Does nothing when a key is configured or the development key exists.
 */
export async function prepareDevKey(src: KeySource): Promise<void> {
  if (!usesDevKey(src)) return;
  const file = devKeyFile(src.dataDir);
  if (existsSync(file)) return;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const { privateKey } = await promisify(generateKeyPair)("rsa", { modulusLength: 2048 });
  saveDevKey(file, privateKey);
}

/** The Vonage application's private key (VONAGE_PRIVATE_KEY or VONAGE_PRIVATE_KEY_FILE): RSA, at least 2048 bits. */
export function loadApplicationKey(src: { privateKeyPem: string | undefined; privateKeyFile: string | undefined }): SigningKey {
  if (src.privateKeyPem) return signingKey(src.privateKeyPem.replace(/\\n/g, "\n"), "VONAGE_PRIVATE_KEY");
  let pem: string;
  try {
    pem = readFileSync(src.privateKeyFile ?? "", "utf8");
  } catch {
    throw new KeyConfigError(`VONAGE_PRIVATE_KEY_FILE=${src.privateKeyFile}: cannot be read`);
  }
  return signingKey(pem, `VONAGE_PRIVATE_KEY_FILE=${src.privateKeyFile}`);
}

export function loadKeyring(src: KeySource, warn: (msg: string) => void = () => {}): Keyring {
  let current: SigningKey;
  if (src.privateKeyPem) current = signingKey(src.privateKeyPem.replace(/\\n/g, "\n"), "JWT_PRIVATE_KEY");
  else if (src.privateKeyFile) {
    let pem: string;
    try {
      pem = readFileSync(src.privateKeyFile, "utf8");
    } catch {
      throw new KeyConfigError(`JWT_PRIVATE_KEY_FILE=${src.privateKeyFile}: cannot be read`);
    }
    current = signingKey(pem, "JWT_PRIVATE_KEY_FILE");
  } else {
    if (src.env === "production") {
      throw new KeyConfigError("JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE is required when NODE_ENV=production");
    }
    current = signingKey(devKey(src.dataDir), "development key");
    warn(`using the development signing key in ${path.join(src.dataDir, "keys")}; set JWT_PRIVATE_KEY_FILE in production`);
  }
  const all = new Map<string, VerificationKey>([[current.kid, current]]);
  if (src.keysDir) {
    let names: string[];
    try {
      names = readdirSync(src.keysDir).filter((n) => n.endsWith(".pem")).sort();
    } catch {
      throw new KeyConfigError(`JWT_KEYS_DIR=${src.keysDir}: cannot be read`);
    }
    for (const name of names) {
      const k = retiredKey(readFileSync(path.join(src.keysDir, name), "utf8"), `JWT_KEYS_DIR/${name}`);
      if (!all.has(k.kid)) all.set(k.kid, k);
    }
  }
  const publicKeys = new Map([...all].map(([kid, k]) => [kid, k.publicKeyPem]));
  // One key for both would let a token signed for one verify as the other (docs/tokens.md).
  if (src.published && all.has(src.published.kid)) {
    throw new KeyConfigError("VONAGE_PRIVATE_KEY / VONAGE_PRIVATE_KEY_FILE: is one of the service's own signing keys (JWT_PRIVATE_KEY, JWT_KEYS_DIR); the Vonage application needs a key of its own");
  }
  const jwks = { keys: [...all.values(), ...(src.published ? [src.published] : [])].map((k) => k.jwk) };
  return { current, publicKeys, jwks: () => jwks };
}
