// Bundle entry: JsSIP 3.13 ships only CommonJS (lib/), so esbuild wraps it into one IIFE that
// defines the global `JsSIP` (see the Makefile target `softphone`).
module.exports = require('jssip');
