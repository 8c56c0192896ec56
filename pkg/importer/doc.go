// Package importer reads question files in the formats people keep their
// suites in (SABE's own JSON Lines, openai/evals samples, inspect_ai
// datasets, promptfoo test files and CSV with named columns) into the
// question requests of SABE's API, each with the line it came from.
//
// It is pure: no database, no network. The import endpoint parses a body
// with Parse and imports the records (the server keeps its own, stricter
// schema check of the sabe format); the CLI and `sabe apply` use Guess and
// Parse to read any format on the client side.
//
// A file is read whole and all or nothing: every item that cannot be
// mapped is listed in an *Error with its line (from 1, counting blank
// lines, as an editor shows them) and the field within the item, in the
// file's own names (`ideal[1]`, `assert[2].type`, `__expected3`). Parse
// checks the shape of items; the server checks what a question must meet
// beyond it and reports it on Record.Line.
package importer
