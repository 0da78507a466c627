/**
 * The columns (camelCase) of every unique and foreign-key constraint of the schema, by the name
 * PostgreSQL reports with each violation. A violation's DETAIL line ("Key (email)=(...)") would
 * name them too, but PostgreSQL leaves it out when the role may not read every column of the row
 * or row-level security applies, as it does for the application and worker roles; the constraint
 * name is always there. test/integration/errors.constraint-fields.test.ts keeps this list equal to the
 * migrated catalog.
 */
export const CONSTRAINT_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  agent_results_evaluation_id_agent_type_key: ['evaluationId', 'agentType'],
  agent_results_evaluation_id_fkey: ['evaluationId'],
  agent_results_pkey: ['id'],
  audit_log_pkey: ['id'],
  business_ideas_pkey: ['id'],
  business_ideas_user_id_fkey: ['userId'],
  business_ideas_user_id_idempotency_key_key: ['userId', 'idempotencyKey'],
  evaluations_business_idea_id_fkey: ['businessIdeaId'],
  evaluations_business_idea_id_idempotency_key_key: ['businessIdeaId', 'idempotencyKey'],
  evaluations_pkey: ['id'],
  seed_history_pkey: ['id'],
  seed_history_set_name_version_scale_key: ['setName', 'version', 'scale'],
  users_email_key: ['email'],
  users_pkey: ['id'],
};

/** The columns of constraint `name`, or undefined for a name not in the schema. */
export function constraintColumns(name: string | undefined): readonly string[] | undefined {
  return name !== undefined && Object.hasOwn(CONSTRAINT_COLUMNS, name) ? CONSTRAINT_COLUMNS[name] : undefined;
}
