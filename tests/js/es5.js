// Parses each file named on the command line as an ES5 script (acorn, ecmaVersion 5): prints
// "ok <file>" or "<file>:<line>:<column>: <what acorn says>" and exits 1 if any does not parse.
"use strict";
var acorn = require("acorn");
var fs = require("fs");
var failed = false;
process.argv.slice(2).forEach(function (file) {
  try {
    acorn.parse(fs.readFileSync(file, "utf8"), {ecmaVersion: 5, sourceType: "script", locations: true});
    console.log("ok " + file);
  } catch (e) {
    failed = true;
    console.log(file + ":" + (e.loc ? e.loc.line + ":" + e.loc.column : "?") + ": " + e.message);
  }
});
process.exit(failed ? 1 : 0);
