/**
 * Runs the example backend: HUB_CONNECTION_STRING (the hub's Full connection string), HUB_NAME
 * (default "sandbox"), PORT (default 3000), REGISTRY_FILE (optional: keep the device registry on disk).
 */
import { createBackend } from './backend.ts';

const connectionString = process.env.HUB_CONNECTION_STRING;
if (!connectionString) {
  console.error('Set HUB_CONNECTION_STRING to the Full connection string that `npm start` printed.');
  process.exit(1);
}
const app = createBackend({
  connectionString,
  hubName: process.env.HUB_NAME ?? 'sandbox',
  logger: true,
  ...(process.env.REGISTRY_FILE ? { registryFile: process.env.REGISTRY_FILE } : {}),
});
await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' });

// Finish requests in flight on Ctrl+C or SIGTERM, then exit.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
