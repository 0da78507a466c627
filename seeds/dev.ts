/**
 * The development data set (v2): four fictional users (one account closed), eight ideas across
 * eight industries in every idea status, seven evaluations in every status and priority, and 26
 * agent results in every status from five agent types, with plausible outputs, insights and
 * scores. Every evaluation's `results` is computed from its agent results, so the numbers agree.
 *
 * Deterministic: fixed ids (links and notes about "the clinic scheduler" stay valid across
 * machines), fixed times relative to DEV_EPOCH (so two loads are identical row for row; the
 * analyzing evaluation's lease therefore lies in the past, i.e. it shows an expired lease that a
 * worker may reclaim), salts derived from the email, and PRNG draws from the set's seed.
 *
 * Every dev user's password is `DEV_PASSWORD` (a development-only value, never for real accounts).
 * No person here is real; emails are on the reserved example.com / example.org domains.
 */
import { createHash, scrypt as scryptCallback, type ScryptOptions } from 'node:crypto';
import { sql, type Insertable, type Kysely } from 'kysely';
import type {
  AgentInputData,
  AgentInsights,
  AgentOutputData,
  EvaluationResults,
  Finding,
  InsightKind,
  JsonObject,
  Recommendation,
  Severity,
} from '../src/schema/json.js';
import type { AgentResults, BusinessIdeas, DB, Evaluations, IdeaStatus, Users } from '../src/schema/generated.js';
import type { KnownAgentType } from '../src/schema/json.js';
import { DEFAULT_MAX_ATTEMPTS } from '../src/validation/evaluations.js';
import type { Random } from './random.js';
import type { SeedContext, SeedRunResult, SeedSet } from './types.js';

/** The password of every development user. Development only. */
export const DEV_PASSWORD = 'dev-password';

/** The instant all dev times are relative to. */
export const DEV_EPOCH = new Date('2026-09-01T00:00:00.000Z');

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

/** The fixed id of dev row `n` (101.. users, 201.. ideas, 301.. evaluations, 401.. agent results). */
export const devId = (n: number): string => `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`;
/** Every dev id matches this (LIKE pattern): rows outside the set never do. */
const DEV_ID_PATTERN = '00000000-0000-4000-8000-%';

/** `DEV_EPOCH` + days, hours and minutes. */
const at = (day: number, hour = 0, minute = 0): Date => new Date(DEV_EPOCH.getTime() + ((day * 24 + hour) * 60 + minute) * 60_000);
const addMinutes = (date: Date, minutes: number): Date => new Date(date.getTime() + minutes * 60_000);

const USER = { marisol: devId(101), tobiah: devId(102), yusra: devId(103), oskar: devId(104) } as const;

/** Dev users (fictional). The closed account has `deletedAt` set. */
export const DEV_USERS = [
  { id: USER.marisol, email: 'marisol.quenby@example.com', name: 'Marisol Quenby', createdAt: at(0, 9), deletedAt: null },
  { id: USER.tobiah, email: 'tobiah.ferrow@example.org', name: 'Tobiah Ferrow', createdAt: at(1, 14), deletedAt: null },
  { id: USER.yusra, email: 'yusra.pellinore@example.com', name: 'Yusra Pellinore', createdAt: at(2, 11), deletedAt: null },
  { id: USER.oskar, email: 'oskar.wendimere@example.org', name: 'Oskar Wendimere', createdAt: at(3, 16), deletedAt: at(40, 12) },
] as const;

type IdeaKey = 'clinic' | 'compost' | 'tutor' | 'freight' | 'repair' | 'pantry' | 'invoice' | 'vineyard';

interface IdeaSpec {
  n: number;
  user: string;
  industry: string;
  title: string;
  description: string;
  status: IdeaStatus;
  createdAt: Date;
  deletedAt?: Date;
}

const IDEAS: Record<IdeaKey, IdeaSpec> = {
  clinic: {
    n: 201,
    user: USER.marisol,
    industry: 'healthcare',
    status: 'completed',
    createdAt: at(20, 10),
    title: 'Scheduling assistant for independent physiotherapy clinics',
    description:
      'A booking and reminder service for physiotherapy clinics with one to five practitioners. It fills cancelled ' +
      'slots from a waitlist by text message, and syncs with the two most common practice management systems so the ' +
      'front desk never enters a booking twice. Priced per practitioner per month, with a free first month.',
  },
  compost: {
    n: 202,
    user: USER.marisol,
    industry: 'sustainability',
    status: 'completed',
    createdAt: at(30, 9),
    title: 'Office compost pickup subscription',
    description:
      'Weekly collection of food scraps from offices of 20 to 200 people, delivered to urban farms within the city. ' +
      'Offices get sealed caddies, a pickup schedule and a monthly report of the waste diverted, which feeds straight ' +
      'into their sustainability reporting.',
  },
  tutor: {
    n: 203,
    user: USER.tobiah,
    industry: 'education',
    status: 'evaluating',
    createdAt: at(57, 15),
    title: 'Exam-season tutoring marketplace for community colleges',
    description:
      'Matches community college students with peer tutors who passed the same course at the same college in the ' +
      'last two years. Sessions are thirty minutes, paid per session, and scheduled around shift work; the college ' +
      'can sponsor sessions for students on financial aid.',
  },
  freight: {
    n: 204,
    user: USER.tobiah,
    industry: 'logistics',
    status: 'submitted',
    createdAt: at(59, 8),
    title: 'Backhaul matching for regional refrigerated trucks',
    description:
      'Finds return loads for refrigerated trucks that would otherwise drive back empty from regional distribution ' +
      'centres. Small food producers book pallet space a day ahead at a fixed price per pallet; carriers see the ' +
      'extra revenue per trip in a weekly statement.',
  },
  repair: {
    n: 205,
    user: USER.yusra,
    industry: 'circular economy',
    status: 'draft',
    createdAt: at(60, 18),
    title: 'Repair café booking and parts-tracking app',
    description:
      'Lets volunteer repair cafés take bookings for broken appliances, estimate which spare parts a repair will ' +
      'need, and track each repair so visitors know when to come back. Free for cafés; parts suppliers pay for ' +
      'listings and referrals.',
  },
  pantry: {
    n: 206,
    user: USER.yusra,
    industry: 'consumer hardware',
    status: 'archived',
    createdAt: at(8, 12),
    title: 'Smart pantry label printer',
    description:
      'A small thermal label printer and phone app that prints use-by labels for leftovers and jars, and reminds the ' +
      'household before food goes off. Archived by its owner after a first look at hardware margins and return rates.',
  },
  invoice: {
    n: 207,
    user: USER.tobiah,
    industry: 'fintech',
    status: 'completed',
    createdAt: at(44, 10),
    title: 'Invoice advances for freelance translators',
    description:
      'Advances up to 80 percent of an unpaid invoice to freelance translators within a day, repaid when the agency ' +
      "pays. Underwriting uses the agency's payment history across all freelancers on the platform rather than the " +
      "freelancer's credit file.",
  },
  vineyard: {
    n: 208,
    user: USER.marisol,
    industry: 'agriculture',
    status: 'evaluating',
    createdAt: at(61, 7),
    title: 'Soil-moisture sensor leasing for small vineyards',
    description:
      'Leases solar-powered soil-moisture sensors to vineyards under 20 hectares, with a season-long irrigation ' +
      'dashboard and alerts before heat waves. No upfront hardware cost: a flat fee per sensor per season, sensors ' +
      'collected and refurbished in winter.',
  },
};

// Known agent types only (a name outside KnownAgentType drops out, and its rows stop compiling).
type AgentKind = Extract<
  KnownAgentType,
  'market-research' | 'competitive-analysis' | 'customer-research' | 'financial-modeling' | 'regulatory-review'
>;
const AGENT_WEIGHT: Record<AgentKind, number> = {
  'market-research': 0.3,
  'competitive-analysis': 0.2,
  'customer-research': 0.25,
  'financial-modeling': 0.15,
  'regulatory-review': 0.1,
};

type EvalKey =
  'clinicDone' | 'compostFailed' | 'compostDone' | 'tutorRunning' | 'freightQueued' | 'invoiceDone' | 'vineyardQueued' | 'vineyardDead';

interface EvalSpec {
  n: number;
  idea: IdeaKey;
  status: 'pending' | 'analyzing' | 'completed' | 'failed' | 'dead';
  priority: 'low' | 'normal' | 'high';
  createdAt: Date;
  /** Claims so far (the last one's number), and how many of them failed; 1 and 0 for a run started once. */
  attempt?: number;
  failures?: number;
  maxAttempts?: number;
  startedAt?: Date;
  /** Minutes from start to end (completed/failed). */
  minutes?: number;
  claimedBy?: string;
  errorMessage?: string;
  verdict?: { summary: string; strengths: string[]; risks: EvaluationResults['risks']; nextSteps: string[] };
}

const EVALS: Record<EvalKey, EvalSpec> = {
  clinicDone: {
    n: 301,
    idea: 'clinic',
    status: 'completed',
    priority: 'normal',
    createdAt: at(21, 8, 30),
    startedAt: at(21, 9),
    minutes: 65,
    claimedBy: 'agent-worker-1',
    verdict: {
      summary:
        'Clinics feel the cost of late cancellations and the incumbents are generic. Integration with the two practice systems is the moat and the main cost.',
      strengths: ['Clear, measurable pain: each empty slot costs a clinic about $80', 'Small clinics are ignored by the large vendors'],
      risks: [
        {
          title: 'Integration effort',
          description: 'Both practice systems run partner programmes with long approval times.',
          severity: 'high',
          mitigation: 'Start with calendar import/export and apply to one partner programme',
          source: 'competitive-analysis',
        },
      ],
      nextSteps: [
        'Interview ten clinic owners about cancellations',
        'Apply to one practice-system partner programme',
        'Pilot waitlist fill with three clinics for a month',
      ],
    },
  },
  compostFailed: {
    n: 302,
    idea: 'compost',
    status: 'failed',
    priority: 'normal',
    createdAt: at(31, 13, 40),
    startedAt: at(31, 14),
    minutes: 40,
    claimedBy: 'agent-worker-2',
    errorMessage: 'customer-research: the model provider timed out after 3 attempts',
  },
  compostDone: {
    n: 303,
    idea: 'compost',
    status: 'completed',
    priority: 'high',
    createdAt: at(33, 9, 45),
    startedAt: at(33, 10),
    minutes: 70,
    claimedBy: 'agent-worker-1',
    verdict: {
      summary: 'Offices like the idea but few will pay for it; building and facility managers are the better buyers.',
      strengths: ['Rising demand for sustainability reporting', 'Urban farms want a steady supply of feedstock'],
      risks: [
        {
          title: 'Low willingness to pay',
          severity: 'high',
          mitigation: 'Sell per floor to building managers',
          source: 'customer-research',
        },
        { title: 'Haulers can bundle organics for free', severity: 'medium', source: 'competitive-analysis' },
      ],
      nextSteps: ['Talk to three facility management companies', 'Price a per-building contract'],
    },
  },
  tutorRunning: {
    n: 304,
    idea: 'tutor',
    status: 'analyzing',
    priority: 'normal',
    createdAt: at(58, 7, 50),
    startedAt: at(58, 8),
    claimedBy: 'agent-worker-2',
  },
  freightQueued: { n: 305, idea: 'freight', status: 'pending', priority: 'high', createdAt: at(59, 8, 5) },
  invoiceDone: {
    n: 306,
    idea: 'invoice',
    status: 'completed',
    priority: 'low',
    createdAt: at(45, 11),
    startedAt: at(45, 11, 10),
    minutes: 80,
    claimedBy: 'agent-worker-1',
    verdict: {
      summary:
        'A crowded niche with thin margins: agencies already offer early payment for a fee, and the default risk sits with the few agencies that pay late.',
      strengths: ['Translators name late payment as their top money problem'],
      risks: [
        {
          title: 'Concentrated credit risk',
          description: 'Five agencies account for most late invoices.',
          severity: 'high',
          mitigation: 'Cap exposure per agency',
          source: 'financial-modeling',
        },
        { title: 'Lending licence needed in most markets', severity: 'high', source: 'regulatory-review' },
      ],
      nextSteps: [
        'Check whether invoice purchase (factoring) avoids the lending licence',
        'Partner with an existing factoring company instead of lending',
      ],
    },
  },
  vineyardQueued: { n: 307, idea: 'vineyard', status: 'pending', priority: 'low', createdAt: at(61, 9) },
  // An earlier evaluation of the same idea ran out of attempts (the last ended 08:50): dead-lettered, for an operator to requeue.
  vineyardDead: {
    n: 308,
    idea: 'vineyard',
    status: 'dead',
    priority: 'low',
    createdAt: at(61, 7, 20),
    startedAt: at(61, 8, 30),
    minutes: 20,
    claimedBy: 'agent-worker-1',
    attempt: 3,
    failures: 3,
    maxAttempts: 3,
    errorMessage: 'market-research: the model provider returned 503 on every attempt',
  },
};

interface Content {
  summary: string;
  findings: [topic: string, statement: string, confidence: number][];
  insights: [kind: InsightKind, title: string, impact: Severity][];
  details: JsonObject;
  metrics?: Record<string, number | string>;
}

/** What each agent found, by `<idea>:<agent>`. Competitor names are invented. */
const CONTENT: Record<string, Content> = {
  'clinic:market-research': {
    summary: 'About 38,000 physiotherapy practices in the US, two thirds with five practitioners or fewer.',
    findings: [
      ['market-size', 'Small practices spend $1,200 to $3,000 a year on scheduling tools.', 0.7],
      ['trend', 'No-show and late-cancellation rates of 10-15% are commonly reported.', 0.6],
    ],
    insights: [
      ['opportunity', 'Waitlist fill is an unmet need', 'high'],
      ['threat', 'Practice systems may add it themselves', 'medium'],
    ],
    details: { tamUsd: 76_000_000, segments: ['solo', '2-5 practitioners'], growthRatePct: 6.5 },
    metrics: { tamUsd: 76_000_000, practices: 38_000 },
  },
  'clinic:competitive-analysis': {
    summary: 'Four generic schedulers and two practice systems with basic booking; none fills cancelled slots automatically.',
    findings: [
      ['competitor', 'Generic booking apps (BookWell, Slotly) lack practice-system sync.', 0.75],
      ['competitor', 'Practice systems offer online booking but no waitlist.', 0.65],
    ],
    insights: [
      ['strength', 'Vertical focus beats generic schedulers', 'medium'],
      ['threat', 'Incumbents could copy the waitlist feature', 'medium'],
    ],
    details: {
      competitors: [
        { name: 'BookWell', pricingUsdMonth: 49, gap: 'no waitlist' },
        { name: 'Slotly', pricingUsdMonth: 29, gap: 'no practice-system sync' },
      ],
    },
    metrics: { competitorCount: 6 },
  },
  'clinic:customer-research': {
    summary: 'Owners name late cancellations as a top-three problem; front desks fill gaps by phone, by hand.',
    findings: [
      ['pain-point', 'Front desks spend 30-60 minutes a day calling patients to fill gaps.', 0.7],
      ['willingness-to-pay', 'Owners would pay $40-60 per practitioner per month.', 0.55],
    ],
    insights: [
      ['recommendation', 'Price per practitioner per month', 'medium'],
      ['strength', 'Pain is felt daily and measured in lost revenue', 'high'],
    ],
    details: { personas: ['clinic owner', 'front-desk coordinator'], willingnessToPayUsdMonth: [40, 60] },
  },
  'clinic:financial-modeling': {
    summary: 'Unit economics work at about 400 clinics if acquisition stays under $900 per clinic.',
    findings: [
      ['unit-economics', 'Gross margin near 82% after SMS costs.', 0.6],
      ['payback', 'Payback in 9 months at $50 per practitioner.', 0.5],
    ],
    insights: [
      ['strength', 'High gross margin', 'medium'],
      ['weakness', 'Slow sales to small clinics raise acquisition cost', 'medium'],
    ],
    details: { cacUsd: 850, ltvUsd: 4_200, grossMarginPct: 82, paybackMonths: 9 },
    metrics: { ltvToCac: 4.9 },
  },
  'clinic:regulatory-review': {
    summary: 'Appointment data is health information: a business associate agreement and HIPAA-grade hosting are required.',
    findings: [['compliance', 'Clinics will ask for a signed BAA before a pilot.', 0.8]],
    insights: [['recommendation', 'Budget for a HIPAA compliance review before launch', 'medium']],
    details: { jurisdictions: ['US'], requirements: ['HIPAA BAA', 'encrypted SMS content'] },
  },
  'compost:market-research': {
    summary: 'Commercial composting is growing in dense cities, pushed by organics separation rules.',
    findings: [
      ['trend', 'Several large cities now require commercial organics separation.', 0.7],
      ['market-size', 'About 9,000 offices of 20-200 staff in the launch city.', 0.5],
    ],
    insights: [['opportunity', 'Regulation pushes demand', 'high']],
    details: { tamUsd: 14_000_000, growthRatePct: 11, segments: ['offices 20-200 staff'] },
    metrics: { offices: 9_000 },
  },
  'compost:competitive-analysis': {
    summary: 'Waste haulers bundle organics for large buildings; two start-ups serve restaurants only.',
    findings: [['competitor', 'Haulers undercut on price where they already collect.', 0.7]],
    insights: [['threat', 'Haulers can bundle organics for free', 'high']],
    details: {
      competitors: [
        { name: 'CityHaul Organics', pricingUsdMonth: 0, gap: 'large buildings only' },
        { name: 'ScrapRun', pricingUsdMonth: 120, gap: 'restaurants only' },
      ],
    },
  },
  'compost:customer-research': {
    summary: 'Office managers like the idea but have no budget line for it; facilities teams own the reporting.',
    findings: [
      ['pain-point', 'Sustainability reports are owned by facilities, not office managers.', 0.65],
      ['willingness-to-pay', 'Few offices would pay more than $30 a month.', 0.6],
    ],
    insights: [
      ['weakness', 'Offices will not pay per pickup', 'high'],
      ['recommendation', 'Sell to building managers per floor', 'medium'],
    ],
    details: { personas: ['office manager', 'facility manager'], willingnessToPayUsdMonth: [0, 30] },
  },
  'compost:financial-modeling': {
    summary: 'Route density decides everything: below 25 stops a day each van loses money.',
    findings: [['unit-economics', 'Break-even at 25 pickups per van per day.', 0.6]],
    insights: [['weakness', 'Low density in the first year', 'high']],
    details: { cacUsd: 300, ltvUsd: 900, grossMarginPct: 28, paybackMonths: 14 },
  },
  'compost:regulatory-review': {
    summary: 'A waste-transport permit is needed; urban farms need compost quality certification to sell.',
    findings: [['compliance', 'Transport permits take about two months.', 0.6]],
    insights: [['recommendation', 'Apply for the permit before signing customers', 'medium']],
    details: { jurisdictions: ['city'], requirements: ['waste transport permit'] },
  },
  'tutor:market-research': {
    summary: 'About 1,000 community colleges; tutoring centres are understaffed at exam time.',
    findings: [
      ['market-size', 'Peak tutoring demand falls in four weeks a year.', 0.65],
      ['trend', 'Colleges fund peer tutoring from student-success budgets.', 0.55],
    ],
    insights: [['opportunity', 'Exam peaks are predictable', 'medium']],
    details: { tamUsd: 120_000_000, segments: ['community colleges'], growthRatePct: 4 },
  },
  'invoice:market-research': {
    summary: 'Around 60,000 full-time freelance translators in the EU and US; typical invoice terms are 45-60 days.',
    findings: [['market-size', 'Average outstanding receivables of about $4,000 per translator.', 0.55]],
    insights: [['opportunity', 'Long payment terms are the norm', 'medium']],
    details: { tamUsd: 240_000_000, segments: ['EU', 'US'], growthRatePct: 2 },
  },
  'invoice:competitive-analysis': {
    summary: 'Agencies and general freelancer-finance apps already offer early payment at 2-4% per invoice.',
    findings: [
      ['competitor', 'Two large agencies pay early for a 3% fee.', 0.7],
      ['competitor', 'General invoice-finance apps accept translators.', 0.6],
    ],
    insights: [['threat', 'Agencies offer the same thing in-house', 'high']],
    details: {
      competitors: [
        { name: 'QuickPay Lingua', feePct: 3, gap: 'single agency' },
        { name: 'Advancely', feePct: 4, gap: 'credit-file based' },
      ],
    },
    metrics: { competitorCount: 5 },
  },
  'invoice:customer-research': {
    summary: 'Translators want faster payment but resent fees; most would use it a few times a year.',
    findings: [
      ['pain-point', 'Late payment is the top money problem for freelancers interviewed.', 0.7],
      ['usage', 'Expected use: 3-4 invoices a year.', 0.5],
    ],
    insights: [
      ['strength', 'Real and recurring pain', 'medium'],
      ['weakness', 'Infrequent use', 'medium'],
    ],
    details: { personas: ['full-time translator', 'part-time interpreter'], usesPerYear: 3.5 },
  },
  'invoice:financial-modeling': {
    summary: 'A 3% fee does not cover expected losses and cost of capital with this agency mix.',
    findings: [['unit-economics', 'Expected loss 1.8% of advanced value; cost of capital 1.5% per advance.', 0.55]],
    insights: [['weakness', 'Negative margin at market price', 'high']],
    details: { cacUsd: 120, ltvUsd: 95, grossMarginPct: -4, paybackMonths: 0 },
    metrics: { ltvToCac: 0.8 },
  },
};

interface RunSpec {
  n: number;
  evaluation: EvalKey;
  agent: AgentKind;
  status: 'pending' | 'running' | 'completed' | 'failed';
  score?: number;
  /** Minutes after the evaluation started. */
  offset?: number;
  /** Run time in minutes (completed/failed). */
  minutes?: number;
  errorMessage?: string;
}

const RUNS: RunSpec[] = [
  { n: 401, evaluation: 'clinicDone', agent: 'market-research', status: 'completed', score: 78, offset: 1, minutes: 14 },
  { n: 402, evaluation: 'clinicDone', agent: 'competitive-analysis', status: 'completed', score: 66, offset: 1, minutes: 22 },
  { n: 403, evaluation: 'clinicDone', agent: 'customer-research', status: 'completed', score: 77, offset: 16, minutes: 25 },
  { n: 412, evaluation: 'clinicDone', agent: 'financial-modeling', status: 'completed', score: 71, offset: 42, minutes: 12 },
  { n: 413, evaluation: 'clinicDone', agent: 'regulatory-review', status: 'completed', score: 69, offset: 42, minutes: 20 },
  { n: 404, evaluation: 'compostFailed', agent: 'market-research', status: 'completed', score: 55, offset: 1, minutes: 15 },
  { n: 414, evaluation: 'compostFailed', agent: 'competitive-analysis', status: 'completed', score: 50, offset: 1, minutes: 18 },
  {
    n: 405,
    evaluation: 'compostFailed',
    agent: 'customer-research',
    status: 'failed',
    offset: 17,
    minutes: 22,
    errorMessage: 'model provider timed out after 3 attempts',
  },
  { n: 406, evaluation: 'compostDone', agent: 'market-research', status: 'completed', score: 55, offset: 1, minutes: 15 },
  { n: 407, evaluation: 'compostDone', agent: 'competitive-analysis', status: 'completed', score: 52, offset: 1, minutes: 19 },
  { n: 408, evaluation: 'compostDone', agent: 'customer-research', status: 'completed', score: 36, offset: 17, minutes: 24 },
  { n: 415, evaluation: 'compostDone', agent: 'financial-modeling', status: 'completed', score: 44, offset: 42, minutes: 13 },
  { n: 426, evaluation: 'compostDone', agent: 'regulatory-review', status: 'completed', score: 62, offset: 42, minutes: 26 },
  { n: 409, evaluation: 'tutorRunning', agent: 'market-research', status: 'completed', score: 71, offset: 1, minutes: 12 },
  { n: 410, evaluation: 'tutorRunning', agent: 'competitive-analysis', status: 'running', offset: 1 },
  { n: 411, evaluation: 'tutorRunning', agent: 'customer-research', status: 'pending' },
  { n: 416, evaluation: 'tutorRunning', agent: 'financial-modeling', status: 'pending' },
  { n: 425, evaluation: 'tutorRunning', agent: 'regulatory-review', status: 'pending' },
  { n: 417, evaluation: 'freightQueued', agent: 'market-research', status: 'pending' },
  { n: 418, evaluation: 'freightQueued', agent: 'competitive-analysis', status: 'pending' },
  { n: 419, evaluation: 'freightQueued', agent: 'customer-research', status: 'pending' },
  { n: 420, evaluation: 'invoiceDone', agent: 'market-research', status: 'completed', score: 41, offset: 1, minutes: 16 },
  { n: 421, evaluation: 'invoiceDone', agent: 'competitive-analysis', status: 'completed', score: 33, offset: 1, minutes: 21 },
  { n: 422, evaluation: 'invoiceDone', agent: 'customer-research', status: 'completed', score: 47, offset: 18, minutes: 27 },
  { n: 423, evaluation: 'invoiceDone', agent: 'financial-modeling', status: 'completed', score: 28, offset: 46, minutes: 15 },
  {
    n: 424,
    evaluation: 'invoiceDone',
    agent: 'regulatory-review',
    status: 'failed',
    offset: 46,
    minutes: 30,
    errorMessage: 'output did not match the expected schema (missing "findings") after 2 attempts',
  },
];

/** Rows of the dev set, in insert order (parents first). */
export interface DevRows {
  users: Insertable<Users>[];
  businessIdeas: Insertable<BusinessIdeas>[];
  evaluations: Insertable<Evaluations>[];
  agentResults: Insertable<AgentResults>[];
}

const recommendationFor = (score: number): Recommendation =>
  score >= 80 ? 'strong-go' : score >= 65 ? 'go' : score >= 45 ? 'pivot' : 'no-go';
const round2 = (n: number): number => Math.round(n * 100) / 100;

/**
 * Builds every dev row (no database needed). Deterministic given the same `random` seed.
 *
 * @example
 * ```ts
 * const rows = await devRows(createRandom(devSet.seed));
 * console.log(rows.agentResults.length); // 26
 * ```
 */
export async function devRows(random: Random): Promise<DevRows> {
  const users = await Promise.all(
    DEV_USERS.map(async (u): Promise<Insertable<Users>> => ({
      ...u,
      passwordHash: await hashPassword(DEV_PASSWORD, devSalt(u.email)),
      updatedAt: u.deletedAt ?? u.createdAt,
    })),
  );

  const businessIdeas = Object.values(IDEAS).map((idea): Insertable<BusinessIdeas> => {
    const lastEvent = Object.values(EVALS)
      .filter((e) => IDEAS[e.idea] === idea)
      .map((e) => e.createdAt)
      .reduce((latest, d) => (d > latest ? d : latest), idea.createdAt);
    const updatedAt = idea.status === 'archived' ? at(35, 17) : idea.status === 'draft' ? idea.createdAt : lastEvent;
    return {
      id: devId(idea.n),
      userId: idea.user,
      title: idea.title,
      description: idea.description,
      status: idea.status,
      createdAt: idea.createdAt,
      updatedAt,
      deletedAt: idea.deletedAt ?? null,
    };
  });

  const usageRandom = random.fork('usage');
  const agentResults: Insertable<AgentResults>[] = [];
  const runsByEval = new Map<EvalKey, { spec: RunSpec; startedAt?: Date; completedAt?: Date }[]>();
  for (const spec of RUNS) {
    const evaluation = EVALS[spec.evaluation];
    const idea = IDEAS[evaluation.idea];
    const content = CONTENT[`${evaluation.idea}:${spec.agent}`];
    const startedAt = spec.offset !== undefined && evaluation.startedAt ? addMinutes(evaluation.startedAt, spec.offset) : undefined;
    const completedAt = startedAt && spec.minutes !== undefined ? addMinutes(startedAt, spec.minutes) : undefined;
    runsByEval.set(spec.evaluation, [
      ...(runsByEval.get(spec.evaluation) ?? []),
      { spec, ...(startedAt ? { startedAt } : {}), ...(completedAt ? { completedAt } : {}) },
    ]);

    const input: AgentInputData = {
      idea: { title: idea.title, description: idea.description, context: { industry: idea.industry } },
      model: spec.agent === 'financial-modeling' ? 'gpt-4.1' : 'claude-sonnet-4',
      promptVersion: `${spec.agent}@${spec.agent === 'regulatory-review' ? 1 : 3}`,
      parameters:
        spec.agent === 'market-research' ? { regions: ['US'] } : spec.agent === 'regulatory-review' ? { jurisdictions: ['US'] } : {},
    };
    let outputData: string | null = null;
    let insights: string | null = null;
    if (spec.status === 'completed') {
      if (!content) throw new Error(`dev seed: no content for ${evaluation.idea}:${spec.agent}`);
      const findings: Finding[] = content.findings.map(([topic, statement, confidence], i) => ({
        topic,
        statement,
        confidence,
        ...(i === 0 ? { sourceRefs: [0] } : {}),
      }));
      const output: AgentOutputData = {
        version: 1,
        summary: content.summary,
        findings,
        sources: [
          {
            title: `${spec.agent} desk research notes: ${idea.industry}`,
            url: `https://example.com/research/${idea.n}/${spec.agent}`,
            retrievedAt: (startedAt ?? idea.createdAt).toISOString(),
          },
        ],
        usage: {
          inputTokens: usageRandom.int(3_000, 9_000),
          outputTokens: usageRandom.int(700, 2_200),
          durationMs: (spec.minutes ?? 1) * 60_000 - usageRandom.int(0, 50_000),
          costUsd: usageRandom.float(0.02, 0.09, 3),
        },
        details: content.details,
      };
      const agentInsights: AgentInsights = {
        version: 1,
        items: content.insights.map(([kind, title, impact]) => ({ kind, title, impact, confidence: usageRandom.float(0.45, 0.85, 2) })),
        ...(content.metrics ? { metrics: content.metrics } : {}),
      };
      outputData = JSON.stringify(output);
      insights = JSON.stringify(agentInsights);
    }
    agentResults.push({
      id: devId(spec.n),
      evaluationId: devId(evaluation.n),
      agentType: spec.agent,
      status: spec.status,
      score: spec.score ?? null,
      inputData: JSON.stringify(input),
      outputData,
      insights,
      errorMessage: spec.errorMessage ?? null,
      startedAt: startedAt ?? null,
      completedAt: spec.status === 'completed' || spec.status === 'failed' ? (completedAt ?? null) : null,
      createdAt: evaluation.startedAt ?? evaluation.createdAt,
      updatedAt: completedAt ?? startedAt ?? evaluation.startedAt ?? evaluation.createdAt,
    });
  }

  const evaluations = (Object.keys(EVALS) as EvalKey[]).map((key): Insertable<Evaluations> => {
    const e = EVALS[key];
    const completedAt = e.startedAt && e.minutes !== undefined ? addMinutes(e.startedAt, e.minutes) : null;
    let results: string | null = null;
    if (e.status === 'completed' && e.verdict && completedAt) {
      const runs = runsByEval.get(key) ?? [];
      const scored = runs.filter((r) => r.spec.score !== undefined);
      const weightSum = scored.reduce((s, r) => s + AGENT_WEIGHT[r.spec.agent], 0);
      const overall = round2(scored.reduce((s, r) => s + (r.spec.score ?? 0) * AGENT_WEIGHT[r.spec.agent], 0) / weightSum);
      const failed = runs.length - scored.length;
      const aggregate: EvaluationResults = {
        version: 1,
        overallScore: overall,
        recommendation: recommendationFor(overall),
        confidence: round2(Math.max(0.3, 0.85 - failed * 0.15)),
        summary: e.verdict.summary,
        agentScores: runs.map((r) => ({
          agentType: r.spec.agent,
          score: r.spec.score ?? null,
          weight: r.spec.score === undefined ? 0 : round2(AGENT_WEIGHT[r.spec.agent] / weightSum),
          status: r.spec.status === 'completed' ? 'completed' : 'failed',
        })),
        strengths: e.verdict.strengths,
        risks: e.verdict.risks,
        nextSteps: e.verdict.nextSteps,
        generatedAt: completedAt.toISOString(),
      };
      results = JSON.stringify(aggregate);
    }
    return {
      id: devId(e.n),
      businessIdeaId: devId(IDEAS[e.idea].n),
      status: e.status,
      priority: e.priority,
      claimedBy: e.claimedBy ?? null,
      // The analyzing run holds a 15-minute lease from when it was claimed (long expired by now).
      leaseExpiresAt: e.status === 'analyzing' && e.startedAt ? addMinutes(e.startedAt, 15) : null,
      attempt: e.attempt ?? (e.startedAt ? 1 : 0),
      failures: e.failures ?? 0,
      maxAttempts: e.maxAttempts ?? DEFAULT_MAX_ATTEMPTS[e.priority],
      // Queued runs are due from when they were queued, so the queue serves them in that order.
      runAfter: e.createdAt,
      startedAt: e.startedAt ?? null,
      completedAt,
      errorMessage: e.errorMessage ?? null,
      results,
      createdAt: e.createdAt,
      updatedAt: completedAt ?? e.startedAt ?? e.createdAt,
    };
  });

  return { users, businessIdeas, evaluations, agentResults };
}

/** sha256 over the generated rows (JSON, dates as ISO strings). */
export function checksumRows(rows: DevRows): string {
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex');
}

/**
 * Upserts `rows` by id (so a newer version of the set rewrites older dev rows in place), then
 * deletes dev-id rows the set no longer has. Rows outside the dev id range are never touched.
 */
async function upsert(db: Kysely<DB>, rows: DevRows): Promise<void> {
  const upsertInto = async <T extends 'users' | 'businessIdeas' | 'evaluations' | 'agentResults'>(
    table: T,
    values: DevRows[T],
  ): Promise<void> => {
    const first = values[0];
    if (!first) return;
    const columns = Object.keys(first).filter((c) => c !== 'id');
    await db
      .insertInto(table)
      .values(values as never)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet(Object.fromEntries(columns.map((c) => [c, sql.ref(`excluded.${snake(c)}`)])) as never),
      )
      .execute();
  };
  // Children first for deletions, parents first for writes.
  const prune = async (table: string, keep: DevRows[keyof DevRows]): Promise<void> => {
    const ids = keep.map((r) => r.id as string);
    await sql`DELETE FROM ${sql.table(table)} WHERE id::text LIKE ${DEV_ID_PATTERN} AND NOT (id = ANY(${ids}::uuid[]))`.execute(db);
  };
  await prune('agent_results', rows.agentResults);
  await prune('evaluations', rows.evaluations);
  await prune('business_ideas', rows.businessIdeas);
  await prune('users', rows.users);
  await upsertInto('users', rows.users);
  await upsertInto('businessIdeas', rows.businessIdeas);
  await upsertInto('evaluations', rows.evaluations);
  await upsertInto('agentResults', rows.agentResults);
}

const snake = (column: string): string => column.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * The dev set for the seed runner (`npm run seed`, `npm start`).
 *
 * @example
 * ```ts
 * await runSeedSet(database, devSet);
 * ```
 */
export const devSet: SeedSet = {
  name: 'dev',
  version: 3,
  description: '4 fictional users, 8 ideas, 8 evaluations and 26 agent results covering every status (fixed ids and times)',
  seed: 'ai-validation dev v2',
  scalable: false,
  transactional: true,
  onOlderVersion: 'apply',
  // Its rows are told apart by their fixed ids, so checks on a database holding other rows too
  // (adopted, or the application's) say whose rows are at fault.
  checks: {
    everyStatus: true,
    minimumRows: { users: 3, business_ideas: 6, evaluations: 5, agent_results: 25 },
    ownIdPattern: DEV_ID_PATTERN,
  },
  async run(ctx: SeedContext): Promise<SeedRunResult> {
    const rows = await devRows(ctx.random);
    await upsert(ctx.db, rows);
    return {
      rows: {
        users: rows.users.length,
        business_ideas: rows.businessIdeas.length,
        evaluations: rows.evaluations.length,
        agent_results: rows.agentResults.length,
      },
      checksum: checksumRows(rows),
    };
  },
};
