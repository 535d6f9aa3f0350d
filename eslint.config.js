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
