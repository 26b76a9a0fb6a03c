// ESLint for the browser client's modules (flat config). The tools are
// test tooling, installed in web-tests/ by web-tests/ensure.sh and pinned
// there; `cargo test -p piazza --test web` runs this and the type check
// (jsconfig.json). Undefined names are TypeScript's to catch (it knows the
// DOM), so `no-undef` is off and no list of browser globals is kept here.

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const tools = createRequire(new URL('../../web-tests/package.json', import.meta.url));
const { default: js } = await import(pathToFileURL(tools.resolve('@eslint/js')).href);

export default [
  js.configs.recommended,
  {
    files: ['assets/**/*.js'],
    languageOptions: { ecmaVersion: 2024, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'no-undef': 'off',
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      'prefer-const': 'error',
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      'no-script-url': 'error',
      'no-shadow': ['error', { builtinGlobals: false }],
      'no-throw-literal': 'error',
      'no-self-compare': 'error',
      'no-template-curly-in-string': 'error',
      'no-unmodified-loop-condition': 'error',
      'no-unreachable-loop': 'error',
      'no-promise-executor-return': 'error',
      'no-constructor-return': 'error',
      'no-useless-rename': 'error',
      'object-shorthand': ['error', 'properties'],
      'prefer-template': 'error',
      curly: ['error', 'multi-line'],
      // The house rule: functions of about 70 lines at most.
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      // Markup only through h(): text as text nodes, never as HTML.
      'no-restricted-properties': [
        'error',
        { property: 'innerHTML', message: 'Build elements with h(); text goes in as text nodes.' },
        { property: 'outerHTML', message: 'Build elements with h(); text goes in as text nodes.' },
        { property: 'insertAdjacentHTML', message: 'Build elements with h(); text goes in as text nodes.' },
        { object: 'document', property: 'write', message: 'Build elements with h().' },
      ],
    },
  },
];
