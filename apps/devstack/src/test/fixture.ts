import { createTestDatabase, type TestDatabase } from './database.ts';
import { createTestTopics, type TestTopics } from './kafka.ts';

/** What each test of a pipeline suite gets afresh; processors pushed here are stopped after it. */
export interface PipelineFixture {
  db: TestDatabase;
  topics: TestTopics;
  processors: { stop(): Promise<void> }[];
}

/** Registers the hooks that give every test its own database and topics. */
export function usePipelineFixture(partitions = 3): PipelineFixture {
  let db: TestDatabase | undefined;
  let topics: TestTopics | undefined;
  const processors: PipelineFixture['processors'] = [];
  beforeEach(async () => {
    db = await createTestDatabase();
    topics = await createTestTopics(partitions);
  });
  afterEach(async () => {
    await Promise.all(processors.splice(0).map((p) => p.stop()));
    await db?.drop();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the pipeline fixture is set up in beforeEach');
    return value;
  };
  return {
    get db() {
      return ready(db);
    },
    get topics() {
      return ready(topics);
    },
    processors,
  };
}
