/**
 * Loads `.env` into `process.env` for local development. Variables already set in the real
 * environment win, and nothing is loaded when NODE_ENV=production (production injects its own).
 */
import { config } from 'dotenv';

export function loadDotenv(): void {
  if (process.env.NODE_ENV === 'production') return;
  config({ quiet: true, override: false });
}
