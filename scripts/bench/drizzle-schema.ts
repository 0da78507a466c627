/**
 * The four core tables as Drizzle table definitions, for the query benchmark only
 * (scripts/bench/contenders/drizzle.ts). They mirror migrations/*.sql, which remain the schema:
 * nothing here is ever pushed or migrated. Indexes and CHECK constraints are left out; Drizzle
 * needs them only to generate DDL.
 */
import { integer, numeric, pgEnum, pgTable, text, timestamp, uuid, jsonb } from 'drizzle-orm/pg-core';
import type { AgentInputData, AgentInsights, AgentOutputData, EvaluationResults } from '../../src/schema/json.js';

export const ideaStatus = pgEnum('idea_status', ['draft', 'submitted', 'evaluating', 'completed', 'archived']);
export const evaluationStatus = pgEnum('evaluation_status', ['pending', 'analyzing', 'completed', 'failed', 'dead']);
export const evaluationPriority = pgEnum('evaluation_priority', ['low', 'normal', 'high']);
export const agentResultStatus = pgEnum('agent_result_status', ['pending', 'running', 'completed', 'failed']);

const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
};

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  email: text('email').notNull(),
  passwordHash: text('password_hash').notNull(),
  name: text('name').notNull(),
  ...timestamps,
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
});

export const businessIdeas = pgTable('business_ideas', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  title: text('title').notNull(),
  description: text('description').notNull(),
  status: ideaStatus('status').notNull().default('draft'),
  idempotencyKey: text('idempotency_key'),
  ...timestamps,
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
});

export const evaluations = pgTable('evaluations', {
  id: uuid('id').primaryKey().defaultRandom(),
  businessIdeaId: uuid('business_idea_id')
    .notNull()
    .references(() => businessIdeas.id, { onDelete: 'cascade' }),
  status: evaluationStatus('status').notNull().default('pending'),
  priority: evaluationPriority('priority').notNull().default('normal'),
  startedAt: timestamp('started_at', { withTimezone: true }),
  completedAt: timestamp('completed_at', { withTimezone: true }),
  results: jsonb('results').$type<EvaluationResults>(),
  errorMessage: text('error_message'),
  ...timestamps,
  claimedBy: text('claimed_by'),
  leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true }),
  idempotencyKey: text('idempotency_key'),
  attempt: integer('attempt').notNull().default(0),
  failures: integer('failures').notNull().default(0),
  maxAttempts: integer('max_attempts').notNull().default(5),
  runAfter: timestamp('run_after', { withTimezone: true }).notNull().defaultNow(),
});

export const agentResults = pgTable('agent_results', {
  id: uuid('id').primaryKey().defaultRandom(),
  evaluationId: uuid('evaluation_id')
    .notNull()
    .references(() => evaluations.id, { onDelete: 'cascade' }),
  agentType: text('agent_type').notNull(),
  status: agentResultStatus('status').notNull().default('pending'),
  inputData: jsonb('input_data').$type<AgentInputData>().notNull().default({}),
  outputData: jsonb('output_data').$type<AgentOutputData>(),
  insights: jsonb('insights').$type<AgentInsights>(),
  score: numeric('score', { precision: 5, scale: 2, mode: 'number' }),
  startedAt: timestamp('started_at', { withTimezone: true }),
  completedAt: timestamp('completed_at', { withTimezone: true }),
  errorMessage: text('error_message'),
  ...timestamps,
  completionKey: text('completion_key'),
  attempt: integer('attempt').notNull().default(0),
});
