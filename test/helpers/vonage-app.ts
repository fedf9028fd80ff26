// A test app in Vonage mode (docs/vapp.md, "Vonage mode"), wired to a local Vonage Users API
// (vonage-server.ts) that shares the app's manual clock: the application's tokens are checked at
// the time the app signs them.
import { vonageUsers } from "../../src/adapters/vonage/users.ts";
import { testApp, type TestApp } from "./app.ts";
import { startVonageServer, type VonageServer } from "./vonage-server.ts";

type Tap = Parameters<typeof testApp>[0];
type Options = NonNullable<Parameters<typeof testApp>[1]>;

export async function vonageTestApp(
  t: Tap,
  opts: Options & {
    applicationId?: string;
    /** How long the service waits for each answer of the Users API (default: the adapter's). */
    vonageTimeoutMs?: number;
  } = {},
): Promise<TestApp & { vonage: VonageServer }> {
  let app: TestApp | undefined;
  const now = () => app?.clock.now() ?? Date.now();
  const vonage = await startVonageServer({ now, ...(opts.applicationId ? { applicationId: opts.applicationId } : {}) });
  t.teardown(() => vonage.close());
  const { applicationId, privateKeyPem, url } = vonage;
  app = await testApp(t, {
    ...opts,
    env: { VONAGE_APPLICATION_ID: applicationId, VONAGE_PRIVATE_KEY: privateKeyPem, VONAGE_API_BASE: url, ...opts.env },
    overrides: {
      ...(opts.vonageTimeoutMs !== undefined ? { vonageUsers: vonageUsers({ applicationId, privateKeyPem, apiBase: url, now, timeoutMs: opts.vonageTimeoutMs }) } : {}),
      ...opts.overrides,
    },
  });
  return { ...app, vonage };
}
