import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'coverage/', 'bench/results.json'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly' },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': 'off',
      // A promise nobody awaits loses its rejection: the process crashes or the error vanishes.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test runs suites and tests it is handed; their promises are its to await.
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'suite', 'before', 'after'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
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
            '**/application/**',
            '**/adapters/**',
            '**/edges/**',
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
    // The client SDK ships without server code, and runs in browsers too: no node:* modules.
    files: ['src/client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            'node:*',
            '**/engine/**',
            '**/application/**',
            '**/adapters/**',
            '**/edges/**',
            'fastify*',
            'better-sqlite3',
          ],
        },
      ],
    },
  },
  {
    // The application layer defines ports; adapters and edges implement and drive them.
    files: ['src/application/**/*.ts'],
    ignores: ['src/application/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/adapters/**', '**/edges/**', 'fastify*'] }],
    },
  },
  {
    // Adapters implement the application's ports and never reach out to the edges.
    files: ['src/adapters/**/*.ts'],
    ignores: ['src/adapters/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/edges/**', 'fastify*'] }],
    },
  },
);
