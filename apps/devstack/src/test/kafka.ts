import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { ensureTopics } from '@telemetrypulse/shared';

export interface TestTopics {
  events: string;
  dlq: string;
  alerts: string;
}

export function testBrokers(): string {
  const brokers = process.env.TEST_KAFKA_BROKERS;
  if (!brokers)
    throw new Error('TEST_KAFKA_BROKERS is not set: run tests through mocha with .mocharc.json');
  return brokers;
}

export function testKafka(): Kafka {
  return new Kafka({ brokers: [testBrokers()], logLevel: logLevel.NOTHING, clientId: 'test' });
}

/** Topics of their own for one test, so tests sharing the broker never see each other's data. */
export async function createTestTopics(partitions = 3): Promise<TestTopics> {
  const suffix = randomBytes(4).toString('hex');
  const topics = {
    events: `test.${suffix}.events`,
    dlq: `test.${suffix}.dlq`,
    alerts: `test.${suffix}.alerts`,
  };
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await ensureTopics(
      admin,
      Object.values(topics).map((topic) => ({ topic, numPartitions: partitions })),
    );
  } finally {
    await admin.disconnect();
  }
  return topics;
}
