/**
 * Polls until `check` holds; fails with what it was waiting for. Unlike the stack's waitFor, an
 * error thrown by the check fails the wait at once: in a test it is the finding, not "not yet".
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting until ${what}`);
}
