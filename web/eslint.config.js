// ESLint for the portal's browser modules (collector/portal/static/js): the recommended
// rules, browser globals only, and a few that keep the page free of HTML strings and eval.
import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    files: ["**/*.js"],
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: globals.browser },
    rules: {
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      "no-restricted-properties": ["error",
        { property: "innerHTML", message: "build elements with ui.h(); never parse HTML" },
        { property: "outerHTML", message: "build elements with ui.h(); never parse HTML" },
        { property: "insertAdjacentHTML", message: "build elements with ui.h(); never parse HTML" }],
      "no-restricted-globals": ["error", "localStorage", "sessionStorage"],
      eqeqeq: "error",
      "prefer-const": "error",
      "no-var": "error",
    },
  },
];
