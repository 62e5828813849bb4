// Package bytesize writes byte counts for people ("372 B", "1.2 KiB",
// "15 MiB"), as exo and the seed show them: the one format of the CLI and
// the console.
package bytesize
