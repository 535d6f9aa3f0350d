// ESLint flat config. Layout rules of ARCHITECTURE.md, "Invariants" are enforced here so that a
// wrong-way import fails `npm test` rather than a code review.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** drivers/ imports nothing of ours outside drivers/ (used by both drivers/ blocks below). */
const DRIVERS_ARE_PURE = {
  group: ['**/gateway/**', '**/cloud-sync/**', '**/simulators/**', '**/ui/**'],
  message: 'drivers/ is pure protocol code: it never imports gateway/, cloud-sync/ or simulators/.',
};

/** Servers serve ui/'s built bundles (dist/ui/) and never import its source (docs/ui.md). */
const SERVERS_NEVER_IMPORT_UI = {
  group: ['**/ui/**', '**/ui'],
  message: 'servers never import ui/: they serve its built bundle from dist/ui/ (docs/ui.md).',
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' },
      // Type information for the promise rules below (tsconfig.json covers every .ts file).
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Only Error objects are thrown (ARCHITECTURE.md, "Invariants").
      'no-throw-literal': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      // A promise nobody awaits loses its rejection (an unhandled rejection ends the process);
      // fire-and-forget is written `void p` with a comment saying why that is fine.
      // node:test's describe/it/test return promises the runner tracks itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      'no-console': 'off',
    },
  },
  {
    // These files are not in tsconfig.json: lint them without type information.
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // pino writes its own level, time, pid, hostname and msg, and then the log object's fields
    // verbatim: a field of the same name is a second JSON key on the line, which the last-wins
    // JSON parsers of log shippers (and pino-pretty, as USERLVL) read instead of pino's. In a
    // child()'s bindings the same names collide, except `level`, which pino drops without a word
    // (a child's level is an option, the second argument). Name such a field for what it is.
    // Only the first argument is checked: it is the only one pino merges into the line.
    files: ['**/*.ts', '**/*.js'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "CallExpression[callee.property.name=/^(trace|debug|info|warn|error|fatal)$/]:not([callee.object.name='console']) > ObjectExpression:first-child > Property[computed=false]:matches([key.name=/^(level|time|pid|hostname|msg)$/], [key.value=/^(level|time|pid|hostname|msg)$/])",
          message:
            'pino writes level, time, pid, hostname and msg itself: a log field of that name is a duplicate key that parsers read instead (rename it, e.g. alarmLevel).',
        },
        {
          selector:
            "CallExpression[callee.property.name='child'] > ObjectExpression:first-child > Property[computed=false]:matches([key.name=/^(level|time|pid|hostname|msg)$/], [key.value=/^(level|time|pid|hostname|msg)$/])",
          message:
            "pino child bindings named level, time, pid, hostname or msg collide with pino's own fields (level is dropped): rename the binding, or pass a child's level in the options, child(bindings, { level }).",
        },
      ],
    },
  },
  {
    files: ['drivers/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [DRIVERS_ARE_PURE],
        },
      ],
    },
  },
  {
    // A later block's no-restricted-imports replaces an earlier one's, so the drivers/ patterns
    // are repeated here.
    files: ['drivers/transport/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            DRIVERS_ARE_PURE,
            {
              group: ['**/modbus/**', '**/modbus'],
              message: 'drivers/transport/ moves bytes for any protocol: it never imports drivers/modbus/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['runtime/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/gateway/**', '**/cloud-sync/**', '**/simulators/**', '**/drivers/**', '**/ui/**'],
              message: 'runtime/ is process plumbing every entry point shares: it imports nothing of ours.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['gateway/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/cloud-sync/*', '!**/cloud-sync/contract'],
              message: 'gateway/ may import only cloud-sync/contract/ from cloud-sync/.',
            },
            {
              group: ['**/simulators/**'],
              message: 'gateway/ never imports simulators/ (the demo wiring lives in simulators/demo.ts).',
            },
            SERVERS_NEVER_IMPORT_UI,
          ],
        },
      ],
    },
  },
  {
    files: ['cloud-sync/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/gateway/**', '**/simulators/**'], message: 'cloud-sync/ never imports gateway/.' },
            SERVERS_NEVER_IMPORT_UI,
          ],
        },
      ],
    },
  },
  {
    // The contract is what gateway/ and the service share: a leaf that imports nothing of ours
    // outside cloud-sync/contract/ (which is one flat folder, so `../` leaves it).
    files: ['cloud-sync/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./',
              message: 'cloud-sync/contract/ is a leaf: it imports nothing of ours from outside it.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['simulators/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [SERVERS_NEVER_IMPORT_UI] }] },
  },
  {
    // Browser code (docs/ui.md): no Node module, nothing of ours outside ui/ but the cabinet API's
    // shapes and cloud-sync/contract/, and those as `import type` only, so no server code can end
    // up in a bundle.
    files: ['ui/**/*.ts', 'ui/**/*.tsx'],
    ignores: ['ui/vite.config.ts'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly', navigator: 'readonly' } },
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*'],
              message: 'ui/ runs in the browser: no Node module.',
            },
            {
              group: ['**/gateway/web/api-types*', '**/cloud-sync/contract/**'],
              allowTypeImports: true,
              message: 'ui/ takes the API shapes and the contract as `import type` only (docs/ui.md).',
            },
            {
              group: [
                '**/gateway/**',
                '!**/gateway/web/api-types*',
                '**/cloud-sync/**',
                '!**/cloud-sync/contract/**',
                '**/drivers/**',
                '**/runtime/**',
                '**/simulators/**',
                '**/device-profiles/**',
              ],
              message:
                'ui/ imports nothing of ours outside ui/ (docs/ui.md); the API shapes come from gateway/web/api-types.ts as `import type`.',
            },
          ],
        },
      ],
    },
  },
);
