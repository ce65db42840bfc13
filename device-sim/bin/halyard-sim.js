#!/usr/bin/env node
// The halyard-sim command. A fixed, executable file: `tsc` rewrites dist/ without the
// execute bit npm set on the bin at install time, which left `npx halyard-sim` failing
// with "Permission denied" after every build.
import '../dist/src/main.js';
