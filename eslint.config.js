// ESLint flat config. Layout rules of DESIGN.md section 3 are enforced here so that a wrong-way
// import fails `npm test` rather than a code review.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Only Error objects are thrown (DESIGN.md section 3).
      'no-throw-literal': 'error',
      '@typescript-eslint/only-throw-error': 'off',
      'no-console': 'off',
    },
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
          patterns: [
            {
              group: ['**/gateway/**', '**/cloud-sync/**', '**/simulators/**'],
              message:
                'drivers/ is pure protocol code: it never imports gateway/, cloud-sync/ or simulators/.',
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
              group: ['**/gateway/**', '**/cloud-sync/**', '**/simulators/**', '**/drivers/**'],
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
          ],
        },
      ],
    },
  },
);
