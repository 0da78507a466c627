/**
 * Input schemas for the users repository. They mirror the CHECK constraints on `users`
 * (migrations/20261124120100_add_indexes_and_constraints.sql), so the constraints are the second line.
 */
import { z } from 'zod';
import { boundedText, charLength, hasLoneSurrogate, limit } from './common.js';
import { cursor } from './cursor.js';

/** users_email_format_check: at most 254 characters, one @, a dot in the domain, no spaces. */
const EMAIL_FORMAT = /^[^@\s]+@[^@\s]+\.[^@\s]+$/u;

/**
 * An email address, normalised the way the table stores it (users_email_normalised_check):
 * trimmed and lowercased, then checked for format and length (254 code points).
 */
export const email = z
  .string({ error: 'must be a string' })
  .trim()
  .toLowerCase()
  .superRefine((value, ctx) => {
    if (value.includes('\u0000') || hasLoneSurrogate(value) || !EMAIL_FORMAT.test(value))
      ctx.addIssue({ code: 'custom', message: 'must be an email address' });
    if (charLength(value) > 254) ctx.addIssue({ code: 'custom', message: 'must be at most 254 characters' });
  });

/** users_name_length_check: 1 to 100 characters, the minimum not counting surrounding spaces. */
export const name = boundedText(1, 100);

/**
 * A password hash from the caller's hashing library (argon2id, bcrypt, scrypt in PHC or
 * modular-crypt form). This library never sees passwords: what it accepts must look like a hash,
 * printable ASCII without spaces, 16 to 512 characters. Messages never echo it.
 */
export const passwordHash = z.string({ error: 'must be a string' }).refine((value) => /^[\x21-\x7e]{16,512}$/.test(value), {
  error: 'must be a password hash: 16 to 512 printable ASCII characters without spaces (never the password itself)',
});

/** `createUser` input. Unknown keys are rejected, so a `password` field cannot slip through unnoticed. */
export const createUserSchema = z.strictObject({ email, name, passwordHash });

/** `updateUser` input: the fields to change, at least one. */
export const updateUserSchema = z
  .strictObject({ email: email.optional(), name: name.optional() })
  .refine((value) => value.email !== undefined || value.name !== undefined, { error: 'must change at least one of email, name' });

/** `listUsers` options. */
export const listUsersSchema = z.strictObject({
  /** Page size, 1 to 100 (default 20). */
  limit,
  /** The `nextCursor` of the previous page. */
  cursor: cursor.optional(),
  /** Include soft-deleted (closed) accounts. Default false. */
  includeDeleted: z.boolean({ error: 'must be a boolean' }).default(false),
});

/** A lookup by email, reported under the path `email`. */
export const emailLookupSchema = z.strictObject({ email });

/** What `createUser` accepts. */
export type CreateUserInput = z.input<typeof createUserSchema>;
/** What `updateUser` accepts. */
export type UpdateUserInput = z.input<typeof updateUserSchema>;
/** What `listUsers` accepts. */
export type ListUsersInput = z.input<typeof listUsersSchema>;
