#!/usr/bin/env node
/**
 * The entry point of the `ai-data-layer` binary (package.json "bin"; built to dist/cli/main.js).
 * The commands are in bin.ts; runMain() maps them to exit codes and handles signals.
 */
import { binCommand, binInterruptedHint } from './bin.js';
import { runMain } from './process.js';

runMain(binCommand, { interruptedHint: binInterruptedHint });
