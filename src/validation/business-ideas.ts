/**
 * Input schemas for the business ideas repository. Lengths mirror the CHECK constraints on
 * `business_ideas` (migrations/20261124120100_add_indexes_and_constraints.sql): the minimum counts
 * text without surrounding spaces, the maximum counts everything, both in code points.
 */
import { z } from 'zod';
import type { IdeaStatus } from '../schema/generated.js';
import {
  boundedText,
  charLength,
  EARLIEST_TIMESTAMP_MS,
  enumLabels,
  fitsText,
  IDEMPOTENCY_KEY_LENGTH,
  idempotencyKey,
  isInput,
  limit,
  withFastPath,
} from './common.js';
import { cursor } from './cursor.js';

/** Every idea status, in the enum's order (draft -> submitted -> evaluating -> completed, archived). */
export const IDEA_STATUSES = enumLabels<IdeaStatus>()(['draft', 'submitted', 'evaluating', 'completed', 'archived']);

/**
 * The ideas workflow, its one definition: which statuses may move to which. Archived is final.
 * `setIdeaStatus` checks changes against it, and an idea follows its evaluation along it.
 */
export const IDEA_TRANSITIONS: Readonly<Record<IdeaStatus, readonly IdeaStatus[]>> = {
  draft: ['submitted', 'archived'],
  submitted: ['evaluating', 'archived'],
  evaluating: ['completed', 'archived'],
  completed: ['archived'],
  archived: [],
};

/** The statuses the workflow lets move to `to`. */
export function ideaPredecessors(to: IdeaStatus): IdeaStatus[] {
  return IDEA_STATUSES.filter((from) => IDEA_TRANSITIONS[from].includes(to));
}

export const ideaStatus = z.enum(IDEA_STATUSES, { error: `must be one of ${IDEA_STATUSES.join(', ')}` });

const TITLE_LENGTH = { min: 3, max: 200 } as const;
/** business_ideas_title_length_check: 3 to 200 characters. */
export const title = boundedText(TITLE_LENGTH.min, TITLE_LENGTH.max);
const DESCRIPTION_LENGTH = { min: 50, max: 5000 } as const;
/** business_ideas_description_length_check: 50 to 5000 characters. */
export const description = boundedText(DESCRIPTION_LENGTH.min, DESCRIPTION_LENGTH.max);

/** `createIdea` input. */
export const createIdeaSchema = withFastPath(
  z.strictObject({ title, description, idempotencyKey: idempotencyKey().optional() }),
  (input) => {
    if (!isInput(input, CREATE_IDEA_KEYS)) return undefined;
    // Each field read once: what was checked is what is returned.
    const titleText = input.title;
    const descriptionText = input.description;
    const key = input.idempotencyKey;
    if (!fitsText(titleText, TITLE_LENGTH.min, TITLE_LENGTH.max)) return undefined;
    if (!fitsText(descriptionText, DESCRIPTION_LENGTH.min, DESCRIPTION_LENGTH.max)) return undefined;
    if (key === undefined) return { title: titleText, description: descriptionText };
    return fitsText(key, IDEMPOTENCY_KEY_LENGTH.min, IDEMPOTENCY_KEY_LENGTH.max)
      ? { title: titleText, description: descriptionText, idempotencyKey: key }
      : undefined;
  },
);
const CREATE_IDEA_KEYS = new Set(['title', 'description', 'idempotencyKey']);

/** `updateIdeaContent` input: the fields to change, at least one. */
export const updateIdeaContentSchema = z
  .strictObject({ title: title.optional(), description: description.optional() })
  .refine((value) => value.title !== undefined || value.description !== undefined, {
    error: 'must change at least one of title, description',
  });

/** A point in time: a `Date` or an ISO 8601 string with a time zone, within PostgreSQL's range. */
const instant = z
  .union([
    z.date({ error: 'must be a valid Date' }),
    z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' }),
  ])
  .transform((value) => new Date(value))
  .refine((date) => date.getTime() >= EARLIEST_TIMESTAMP_MS, {
    error: "must be within PostgreSQL's timestamptz range (from 4714-11-24 BC)",
  });

/**
 * Full-text search input, handed to `websearch_to_tsquery('english', ...)`, which never fails on
 * syntax: quotes make phrases, `or` alternatives, `-word` exclusions; anything else is words.
 */
const search = z
  .string({ error: 'must be a string' })
  .trim()
  .superRefine((value, ctx) => {
    if (value === '') ctx.addIssue({ code: 'custom', message: 'must not be empty (omit it to list without searching)' });
    if (charLength(value) > 200) ctx.addIssue({ code: 'custom', message: 'must be at most 200 characters' });
    if (value.includes('\u0000')) ctx.addIssue({ code: 'custom', message: 'must not contain the NUL character (\\u0000)' });
  });

/** One status or a non-empty list of them; a single status is read as a list of one. */
const statuses = z.union(
  [
    ideaStatus.transform((status) => [status]),
    z.array(ideaStatus).min(1, { error: 'must list at least one status' }).max(IDEA_STATUSES.length),
  ],
  { error: 'must be a status or a list of statuses' },
);

/** `listIdeasByUser` options. `createdFrom` is inclusive, `createdTo` exclusive. */
export const listIdeasSchema = z
  .strictObject({
    status: statuses.optional(),
    createdFrom: instant.optional(),
    createdTo: instant.optional(),
    search: search.optional(),
    limit,
    cursor: cursor.optional(),
  })
  .refine((value) => !(value.createdFrom && value.createdTo && value.createdFrom.getTime() > value.createdTo.getTime()), {
    path: ['createdTo'],
    error: 'must not be before createdFrom',
    // Checked alongside other fields' issues (zod skips object refinements after any issue by default).
    when: (payload) => payload.issues.every((issue) => issue.path?.[0] !== 'createdFrom' && issue.path?.[0] !== 'createdTo'),
  });

/** `setIdeaStatus` options. */
export const setIdeaStatusSchema = z.strictObject({
  to: ideaStatus,
  from: z.array(ideaStatus).min(1, { error: 'must list at least one status' }).optional(),
});

/** What `createIdea` accepts. */
export type CreateIdeaInput = z.input<typeof createIdeaSchema>;
/** What `updateIdeaContent` accepts. */
export type UpdateIdeaContentInput = z.input<typeof updateIdeaContentSchema>;
/** What `listIdeasByUser` accepts (`status` spelled out, so that a readonly list is accepted too). */
export type ListIdeasInput = Omit<z.input<typeof listIdeasSchema>, 'status'> & { status?: IdeaStatus | readonly IdeaStatus[] };
