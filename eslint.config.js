import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'coverage/', 'bench/results.json'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': 'off',
    },
  },
  {
    // The engine is pure: no I/O, no ambient time or randomness (STYLE.md, habit 1).
    files: ['src/engine/**/*.ts'],
    ignores: ['src/engine/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            'node:*',
            'fastify*',
            'better-sqlite3',
            'pg',
            'pino',
            '../application/*',
            '../adapters/*',
            '../edges/*',
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'The engine takes time through its inputs.' },
        { object: 'Math', property: 'random', message: 'The engine takes randomness through its inputs.' },
      ],
    },
  },
  {
    // The client SDK ships without server code.
    files: ['src/client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '../engine/*',
            '../application/*',
            '../adapters/*',
            '../edges/*',
            'fastify*',
            'better-sqlite3',
          ],
        },
      ],
    },
  },
);
