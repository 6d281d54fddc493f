// Lint keeps workflows/ a deterministic sandbox and promises awaited everywhere.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const sideEffectModules = [
  'node:*', 'fs', 'fs/*', 'path', 'os', 'crypto', 'child_process', 'net', 'http', 'https', 'dns', 'worker_threads',
  'pg', '@electric-sql/*', 'kysely', 'nodemailer', 'twilio', 'fastify', '@fastify/*',
  'luxon', 'temporal-polyfill', 'rrule', 'rrule-temporal',
  '@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing',
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', '.tools/', '.scratch/', 'coverage/', 'bin/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The preview page's browser module (src/api/preview-page/): served as is, no build step, no type program.
    files: ['src/api/preview-page/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false },
      globals: { window: 'readonly', document: 'readonly', sessionStorage: 'readonly', fetch: 'readonly', FormData: 'readonly', HTMLElement: 'readonly', Intl: 'readonly' },
    },
  },
  {
    // Workflow code is replayed: no I/O, no clocks other than the workflow's, no tz database, no Intl.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: sideEffectModules, message: 'workflows/ is a sandbox: side effects belong in activities/.' },
            {
              group: ['**/src/*', '!**/src/domain', '**/src/domain/recurrence/*', '**/src/domain/idempotency*'],
              allowTypeImports: true,
              message: 'workflows/ may import only pure domain modules (types from anywhere).',
            },
            { group: ['**/activities/*'], allowTypeImports: true, message: 'Call activities through proxyActivities.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'Intl', message: 'Intl reads host tz data: do it in an activity.' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name=/^toLocale/]", message: 'Locale formatting belongs in activities.' },
      ],
    },
  },
);
