/**
 * The development data set: three users, six ideas across every status, their evaluations
 * (completed, failed, in progress, queued) and agent results with realistic JSON payloads.
 * Small on purpose: enough to click through every state of the app. Fixed ids, so links and
 * notes about "Ada's clinic scheduler" stay valid across machines; times are relative to now.
 *
 * Every dev user's password is `DEV_PASSWORD` (a development-only value, never for real accounts).
 */
import { createHash, scrypt as scryptCallback, type ScryptOptions } from 'node:crypto';
import { sql, type Insertable, type Kysely } from 'kysely';
import type { AgentInputData, AgentInsights, AgentOutputData, EvaluationResults } from '../src/db/json-types.js';
import type { AgentResults, BusinessIdeas, DB, Evaluations, Users } from '../src/db/schema.generated.js';

/** The password of every development user. Development only. */
export const DEV_PASSWORD = 'dev-password';

/** What `seedDev()` did. */
export interface SeedResult {
  /** True when the dev users already existed and nothing was written. */
  skipped: boolean;
  /** Rows inserted per table (all 0 when skipped). */
  inserted: { users: number; businessIdeas: number; evaluations: number; agentResults: number };
}

const SCRYPT = { N: 16_384, r: 8, p: 1, keyLength: 32 } as const;

/**
 * Hashes a password as `scrypt$N$r$p$<salt b64>$<hash b64>`. Seeds pass a salt derived from the
 * email, so the data set is byte-for-byte reproducible; real sign-ups must use a random salt.
 *
 * @example
 * ```ts
 * const hash = await hashPassword('dev-password', randomBytes(16));
 * ```
 */
export async function hashPassword(password: string, salt: Buffer): Promise<string> {
  const hash = await new Promise<Buffer>((resolve, reject) => {
    const options: ScryptOptions = { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 64 * 1024 * 1024 };
    scryptCallback(password.normalize('NFKC'), salt, SCRYPT.keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

const devSalt = (email: string): Buffer => createHash('sha256').update(`ai-validation dev seed ${email}`).digest().subarray(0, 16);

const id = (n: number): string => `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`;
const USER = { ada: id(101), grace: id(102), alan: id(103) } as const;
const IDEA = { clinic: id(201), compost: id(202), tutor: id(203), freight: id(204), repair: id(205), pantry: id(206) } as const;
const EVAL = { clinicDone: id(301), compostFailed: id(302), compostDone: id(303), tutorRunning: id(304), freightQueued: id(305) } as const;

/** Dev users, by the emails `seedDev()` checks for. */
export const DEV_USERS = [
  { id: USER.ada, email: 'ada@example.com', name: 'Ada Lovelace' },
  { id: USER.grace, email: 'grace@example.com', name: 'Grace Hopper' },
  { id: USER.alan, email: 'alan@example.com', name: 'Alan Turing' },
] as const;

/**
 * Loads the development data set in one transaction. Idempotent: when any dev user already
 * exists, nothing is written and `{ skipped: true }` is returned. Concurrent calls are serialised
 * by a transaction-scoped advisory lock.
 *
 * @example
 * ```ts
 * const database = createDatabase();
 * const result = await seedDev(database.db);
 * console.log(result.skipped ? 'already seeded' : result.inserted);
 * ```
 */
export async function seedDev(db: Kysely<DB>): Promise<SeedResult> {
  const users = await Promise.all(
    DEV_USERS.map(async (u): Promise<Insertable<Users>> => ({
      ...u,
      passwordHash: await hashPassword(DEV_PASSWORD, devSalt(u.email)),
      createdAt: daysAgo(60),
    })),
  );

  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('ai-validation:seeds:dev'))`.execute(trx);
    const existing = await trx
      .selectFrom('users')
      .select('email')
      .where('email', 'in', DEV_USERS.map((u) => u.email))
      .execute();
    if (existing.length > 0) {
      return { skipped: true, inserted: { users: 0, businessIdeas: 0, evaluations: 0, agentResults: 0 } };
    }
    const ideas = businessIdeas();
    const evaluations = evaluationRows();
    const agentResults = agentResultRows();
    await trx.insertInto('users').values(users).execute();
    await trx.insertInto('businessIdeas').values(ideas).execute();
    await trx.insertInto('evaluations').values(evaluations).execute();
    await trx.insertInto('agentResults').values(agentResults).execute();
    return {
      skipped: false,
      inserted: { users: users.length, businessIdeas: ideas.length, evaluations: evaluations.length, agentResults: agentResults.length },
    };
  });
}

function daysAgo(days: number, hours = 0): Date {
  return new Date(Date.now() - (days * 24 + hours) * 3_600_000);
}

function businessIdeas(): Insertable<BusinessIdeas>[] {
  return [
    {
      id: IDEA.clinic,
      userId: USER.ada,
      title: 'Scheduling assistant for independent physiotherapy clinics',
      description:
        'A booking and reminder service for physiotherapy clinics with one to five practitioners. It fills ' +
        'cancelled slots from a waitlist by text message, and syncs with the two most common practice systems.',
      status: 'completed',
      createdAt: daysAgo(40),
    },
    {
      id: IDEA.compost,
      userId: USER.ada,
      title: 'Office compost pickup subscription',
      description:
        'Weekly collection of food scraps from offices of 20 to 200 people, delivered to urban farms. Offices ' +
        'get a monthly report of the waste diverted for their sustainability reporting.',
      status: 'completed',
      createdAt: daysAgo(30),
    },
    {
      id: IDEA.tutor,
      userId: USER.grace,
      title: 'Exam-season tutoring marketplace for community colleges',
      description:
        'Matches community college students with peer tutors who passed the same course at the same college in ' +
        'the last two years. Sessions are short, paid per session, and scheduled around shift work.',
      status: 'evaluating',
      createdAt: daysAgo(3),
    },
    {
      id: IDEA.freight,
      userId: USER.grace,
      title: 'Backhaul matching for regional refrigerated trucks',
      description:
        'Finds return loads for refrigerated trucks that would otherwise drive back empty from regional ' +
        'distribution centres, priced per pallet and booked a day ahead by small food producers.',
      status: 'submitted',
      createdAt: daysAgo(1),
    },
    {
      id: IDEA.repair,
      userId: USER.alan,
      title: 'Repair café booking and parts-tracking app',
      description:
        'Lets volunteer repair cafés take bookings for broken appliances, estimate which spare parts are ' +
        'needed, and track repairs so visitors know when to come back. Free for cafés, paid for parts suppliers.',
      status: 'draft',
      createdAt: daysAgo(0, 5),
    },
    {
      id: IDEA.pantry,
      userId: USER.alan,
      title: 'Smart pantry label printer',
      description:
        'A small label printer and phone app that prints use-by labels for leftovers and jars, and reminds the ' +
        'household before food goes off. Abandoned after a first look at hardware margins.',
      status: 'archived',
      createdAt: daysAgo(90),
      deletedAt: null,
    },
  ];
}

function evaluationRows(): Insertable<Evaluations>[] {
  const clinicResults: EvaluationResults = {
    version: 1,
    overallScore: 74.3,
    recommendation: 'go',
    confidence: 0.78,
    summary:
      'Clinics feel the pain of late cancellations and the incumbents are generic. Integration with the two ' +
      'practice systems is the moat and the main cost.',
    agentScores: [
      { agentType: 'market-research', score: 78, weight: 0.4, status: 'completed' },
      { agentType: 'competitive-analysis', score: 66, weight: 0.3, status: 'completed' },
      { agentType: 'customer-research', score: 77, weight: 0.3, status: 'completed' },
    ],
    strengths: ['Clear, measurable pain: each empty slot costs about $80', 'Small clinics are ignored by the large vendors'],
    risks: [
      {
        title: 'Integration effort',
        description: 'Both practice systems have partner programmes with long approval times.',
        severity: 'high',
        mitigation: 'Start with calendar export/import and apply to one partner programme',
        source: 'competitive-analysis',
      },
    ],
    nextSteps: ['Interview ten clinic owners about cancellations', 'Apply to one practice system partner programme'],
    generatedAt: daysAgo(39).toISOString(),
  };
  const compostResults: EvaluationResults = {
    version: 1,
    overallScore: 48.5,
    recommendation: 'pivot',
    confidence: 0.64,
    summary: 'Offices like the idea but few pay for it; landlords and facility managers are the better buyers.',
    agentScores: [
      { agentType: 'market-research', score: 55, weight: 0.4, status: 'completed' },
      { agentType: 'competitive-analysis', score: 52, weight: 0.3, status: 'completed' },
      { agentType: 'customer-research', score: 36, weight: 0.3, status: 'completed' },
    ],
    strengths: ['Rising demand for sustainability reporting'],
    risks: [{ title: 'Low willingness to pay', severity: 'high', mitigation: 'Sell to building managers per floor', source: 'customer-research' }],
    nextSteps: ['Talk to three facility management companies'],
    generatedAt: daysAgo(27).toISOString(),
  };
  return [
    {
      id: EVAL.clinicDone,
      businessIdeaId: IDEA.clinic,
      status: 'completed',
      priority: 'normal',
      claimedBy: 'agent-worker-1',
      startedAt: daysAgo(39, 2),
      completedAt: daysAgo(39, 1),
      results: JSON.stringify(clinicResults),
      createdAt: daysAgo(39, 3),
    },
    {
      id: EVAL.compostFailed,
      businessIdeaId: IDEA.compost,
      status: 'failed',
      priority: 'normal',
      claimedBy: 'agent-worker-2',
      startedAt: daysAgo(29, 4),
      completedAt: daysAgo(29, 3),
      errorMessage: 'customer-research: the model provider timed out after 3 attempts',
      createdAt: daysAgo(29, 5),
    },
    {
      id: EVAL.compostDone,
      businessIdeaId: IDEA.compost,
      status: 'completed',
      priority: 'high',
      claimedBy: 'agent-worker-1',
      startedAt: daysAgo(27, 2),
      completedAt: daysAgo(27, 1),
      results: JSON.stringify(compostResults),
      createdAt: daysAgo(27, 3),
    },
    {
      id: EVAL.tutorRunning,
      businessIdeaId: IDEA.tutor,
      status: 'analyzing',
      priority: 'normal',
      // Claimed by a worker whose lease is still running.
      claimedBy: 'agent-worker-2',
      leaseExpiresAt: new Date(Date.now() + 10 * 60_000),
      startedAt: daysAgo(0, 1),
      createdAt: daysAgo(0, 2),
    },
    {
      id: EVAL.freightQueued,
      businessIdeaId: IDEA.freight,
      status: 'pending',
      priority: 'high',
      createdAt: daysAgo(0, 20),
    },
  ];
}

function agentResultRows(): Insertable<AgentResults>[] {
  const input = (title: string, agent: string, parameters: AgentInputData['parameters'] = {}): string =>
    JSON.stringify({
      idea: { title, description: `(snapshot of "${title}")` },
      model: 'claude-sonnet-4',
      promptVersion: `${agent}@3`,
      parameters,
    } satisfies AgentInputData);

  const clinicMarket: AgentOutputData = {
    version: 1,
    summary: 'About 38,000 physiotherapy practices in the US, two thirds with five practitioners or fewer.',
    findings: [
      { topic: 'market-size', statement: 'Small practices spend $1,200 to $3,000 a year on scheduling tools.', confidence: 0.7, sourceRefs: [0] },
      { topic: 'trend', statement: 'No-show rates of 10-15% are commonly reported.', confidence: 0.6, sourceRefs: [1] },
    ],
    sources: [
      { title: 'APTA practice profile survey', url: 'https://example.com/apta-survey' },
      { title: 'Clinic management forum thread on no-shows', url: 'https://example.com/forum/no-shows' },
    ],
    usage: { inputTokens: 5_210, outputTokens: 1_380, durationMs: 41_200, costUsd: 0.04 },
    details: { tamUsd: 76_000_000, segments: ['solo', '2-5 practitioners'] },
  };
  const clinicMarketInsights: AgentInsights = {
    version: 1,
    items: [
      { kind: 'opportunity', title: 'Waitlist fill is an unmet need', impact: 'high', confidence: 0.72 },
      { kind: 'threat', title: 'Practice systems may add it themselves', impact: 'medium', confidence: 0.5 },
    ],
    metrics: { tamUsd: 76_000_000, practices: 38_000 },
  };
  const output = (summary: string, topic: string, statement: string): string =>
    JSON.stringify({ version: 1, summary, findings: [{ topic, statement, confidence: 0.65 }] } satisfies AgentOutputData);
  const insights = (kind: 'strength' | 'weakness' | 'opportunity' | 'threat' | 'recommendation', title: string): string =>
    JSON.stringify({ version: 1, items: [{ kind, title, impact: 'medium' }] } satisfies AgentInsights);

  const clinic = 'Scheduling assistant for independent physiotherapy clinics';
  const compost = 'Office compost pickup subscription';
  const tutor = 'Exam-season tutoring marketplace for community colleges';
  const done = (days: number, startHour: number) => ({ startedAt: daysAgo(days, startHour), completedAt: daysAgo(days, startHour - 0.5) });

  return [
    {
      id: id(401), evaluationId: EVAL.clinicDone, agentType: 'market-research', status: 'completed', score: 78,
      inputData: input(clinic, 'market-research', { regions: ['US'] }),
      outputData: JSON.stringify(clinicMarket), insights: JSON.stringify(clinicMarketInsights), ...done(39, 2),
    },
    {
      id: id(402), evaluationId: EVAL.clinicDone, agentType: 'competitive-analysis', status: 'completed', score: 66,
      inputData: input(clinic, 'competitive-analysis', { competitorHints: ['generic booking apps'] }),
      outputData: output('Four generic schedulers, none with waitlist fill for clinics.', 'competitor', 'Generic tools lack practice-system sync.'),
      insights: insights('strength', 'Vertical focus beats generic schedulers'), ...done(39, 2),
    },
    {
      id: id(403), evaluationId: EVAL.clinicDone, agentType: 'customer-research', status: 'completed', score: 77,
      inputData: input(clinic, 'customer-research'),
      outputData: output('Owners name late cancellations as a top-three problem.', 'pain-point', 'Front desks fill gaps by phone, by hand.'),
      insights: insights('recommendation', 'Price per practitioner per month'), ...done(39, 1.5),
    },
    {
      id: id(404), evaluationId: EVAL.compostFailed, agentType: 'market-research', status: 'completed', score: 55,
      inputData: input(compost, 'market-research'),
      outputData: output('Commercial composting is growing in dense cities.', 'trend', 'Several cities now require organics separation.'),
      insights: insights('opportunity', 'Regulation pushes demand'), ...done(29, 4),
    },
    {
      id: id(405), evaluationId: EVAL.compostFailed, agentType: 'customer-research', status: 'failed',
      inputData: input(compost, 'customer-research'), errorMessage: 'model provider timed out after 3 attempts', ...done(29, 3.6),
    },
    {
      id: id(406), evaluationId: EVAL.compostDone, agentType: 'market-research', status: 'completed', score: 55,
      inputData: input(compost, 'market-research'),
      outputData: output('Commercial composting is growing in dense cities.', 'trend', 'Several cities now require organics separation.'),
      insights: insights('opportunity', 'Regulation pushes demand'), ...done(27, 2),
    },
    {
      id: id(407), evaluationId: EVAL.compostDone, agentType: 'competitive-analysis', status: 'completed', score: 52,
      inputData: input(compost, 'competitive-analysis'),
      outputData: output('Waste haulers bundle organics for large buildings.', 'competitor', 'Haulers undercut on price at scale.'),
      insights: insights('threat', 'Haulers can bundle for free'), ...done(27, 2),
    },
    {
      id: id(408), evaluationId: EVAL.compostDone, agentType: 'customer-research', status: 'completed', score: 36,
      inputData: input(compost, 'customer-research'),
      outputData: output('Office managers like it but have no budget line for it.', 'pain-point', 'Sustainability reports are owned by facilities.'),
      insights: insights('weakness', 'Offices will not pay per pickup'), ...done(27, 1.5),
    },
    {
      id: id(409), evaluationId: EVAL.tutorRunning, agentType: 'market-research', status: 'completed', score: 71,
      inputData: input(tutor, 'market-research'),
      outputData: output('About 1,000 community colleges; tutoring centres are understaffed at exam time.', 'market-size', 'Peak demand is in four weeks a year.'),
      insights: insights('opportunity', 'Exam peaks are predictable'), ...done(0, 1),
    },
    {
      id: id(410), evaluationId: EVAL.tutorRunning, agentType: 'competitive-analysis', status: 'running',
      inputData: input(tutor, 'competitive-analysis'), startedAt: daysAgo(0, 0.5),
    },
    {
      id: id(411), evaluationId: EVAL.tutorRunning, agentType: 'customer-research', status: 'pending',
      inputData: input(tutor, 'customer-research'),
    },
  ];
}
