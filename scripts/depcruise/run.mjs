#!/usr/bin/env node
// `npm run lint`'s dependency check: dependency-cruiser with the rules in
// .dependency-cruiser.cjs (docs/architecture.md § Layers). dependency-cruiser parses
// TypeScript with the `typescript` package's JavaScript API, which TypeScript 7 (the
// project's compiler) no longer has; this workspace holds a TypeScript 5 for it alone,
// nested here so the root's `tsc` stays 7, and points dependency-cruiser's imports of
// `typescript` at it. Arguments go to depcruise as they are.

import Module, { createRequire, register } from 'node:module';

const here = new URL('./', import.meta.url);
const local = createRequire(here);
const fromCruiser = (parent) => typeof parent === 'string' && parent.includes('/node_modules/dependency-cruiser/');
const isTypescript = (specifier) => specifier === 'typescript' || specifier.startsWith('typescript/');

// dependency-cruiser reads typescript/package.json with require() (the version check)...
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (isTypescript(request) && fromCruiser(parent?.filename)) return local.resolve(request);
  return resolveFilename.call(this, request, parent, ...rest);
};
// ...and loads it with import().
register(
  `data:text/javascript,${encodeURIComponent(`
    const isTypescript = ${isTypescript.toString()};
    export async function resolve(specifier, context, next) {
      if (isTypescript(specifier) && context.parentURL?.includes('/node_modules/dependency-cruiser/'))
        return next(specifier, { ...context, parentURL: ${JSON.stringify(here.href)} });
      return next(specifier, context);
    }`)}`,
);

// The CLI, which the package's exports leave out: beside its main entry (src/main/).
const cli = new URL('../../bin/dependency-cruise.mjs', import.meta.resolve('dependency-cruiser'));
process.argv.splice(1, 1, cli.pathname);
await import(cli.href);
