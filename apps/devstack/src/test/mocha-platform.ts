// Mocha global fixtures: one real Kafka broker and one real PostgreSQL for the whole test run.
// Tests reach them through TEST_KAFKA_BROKERS and TEST_POSTGRES_ADMIN_URL (see kafka.ts, database.ts).
// The Kubernetes testbed starts only when a test asks for it (useTestbed in testbed.ts).
import { startThrowawayPlatform, type ThrowawayPlatform } from './platform.ts';
import { stopTestbedIfStarted } from './testbed.ts';

let platform: ThrowawayPlatform | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  platform = await startThrowawayPlatform();
  process.env.TEST_KAFKA_BROKERS = platform.kafka.brokers;
  process.env.TEST_POSTGRES_ADMIN_URL = platform.postgres.urlFor('postgres');
  console.log(
    `test platform: Kafka ${platform.kafka.brokers}, PostgreSQL ${platform.postgres.urlFor('')}`,
  );
}

export async function mochaGlobalTeardown(): Promise<void> {
  await Promise.allSettled([platform?.stop(), stopTestbedIfStarted()]);
}
