/**
 * Test factories: the deterministic row factories of seeds/factories.ts (one shared default set,
 * seed `test-factories`). Import from here in tests; use `createFactories(seed)` for a set of
 * your own.
 */
export {
  buildAgentResult,
  buildEvaluation,
  buildIdea,
  buildUser,
  createFactories,
  createSubmittedIdea,
  createTestAgentResult,
  createTestEvaluation,
  createTestIdea,
  createTestUser,
  defaultFactories,
  fakePasswordHash,
  ideaDescription,
  uniqueEmail,
  type Factories,
} from '../../seeds/factories.js';
