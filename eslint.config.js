// ESLint, configured once for the repository: typescript-eslint's type-aware rules, Prettier for
// layout (eslint-config-prettier turns the rules it owns off), and the library's layering
// (docs/development.md), enforced by import-x/no-restricted-paths and import-x/no-cycle.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The library's layers, lowest first. A module may import from its own layer and the ones before
 * it, never from a later one; migrate/ sits beside validation, repositories and db, so it may use
 * only the core layers (db/health.ts reads its ledger module, not the other way round); cli/ sits
 * beside index.ts at the top: neither imports the other.
 */
const layers = [
  { name: 'schema', paths: ['src/schema'] },
  {
    name: 'core (errors, logger, config, connection, credentials)',
    paths: ['src/errors.ts', 'src/logger.ts', 'src/config.ts', 'src/connection.ts', 'src/credentials'],
  },
  { name: 'validation', paths: ['src/validation'] },
  { name: 'repositories', paths: ['src/repositories'] },
  { name: 'migrate', paths: ['src/migrate'], beside: ['validation', 'repositories'] },
  { name: 'db (the facade)', paths: ['src/db'] },
  // The queue's worker loop: createDatabase()'s handle and the evaluations repository, put to work.
  { name: 'queue', paths: ['src/queue'] },
  { name: 'index', paths: ['src/index.ts'], beside: ['cli'] },
  // The CLI (the ai-data-layer binary, and the npm scripts' commands) is the top: it may use any
  // library module, imported directly rather than through index.ts; nothing in src/ imports it.
  { name: 'cli', paths: ['src/cli'], beside: ['index'] },
];

const zones = layers.flatMap((layer, i) => {
  const above = layers.slice(i + 1);
  const siblings = layers.filter((other) => layer.beside?.includes(other.name));
  return [...above, ...siblings].map((other) => ({
    target: layer.paths.map((p) => `./${p}`),
    from: other.paths.map((p) => `./${p}`),
    message: `${layer.name} may not import ${other.name}: dependencies point one way (schema -> core -> validation -> repositories -> db -> queue -> index and cli; migrate beside validation, repositories and db, on core only). See docs/development.md.`,
  }));
});

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.data/', '.bench/', 'coverage/', 'backups/', 'src/schema/generated.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: {
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            ...zones,
            {
              target: './src',
              from: ['./seeds', './scripts', './test', './kysely.config.ts'],
              message: 'the library never imports seeds/, scripts/, test/ or kysely.config.ts (codegen settings only).',
            },
            {
              target: './seeds',
              from: ['./scripts', './test'],
              message: 'seeds/ builds on the library only; the CLI (scripts/) calls the seeds.',
            },
            { target: './scripts', from: ['./test'], message: 'scripts/ never imports the tests.' },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // An async function without await is how a stub or a hook satisfies a Promise-returning interface.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Tests read raw rows, parsed JSON and vitest's asymmetric matchers (expect.any() is typed any).
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  prettier,
);
