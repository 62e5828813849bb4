// Package deptest holds no code: its test reads the import graph of the
// module (go list -deps, non-test imports only) and fails when an edge breaks
// the one-way flow of data of the design (DESIGN.md, "Layout and the one-way
// flow of data": mains and edges imported by no one but the composition root,
// a CLI that links no server package, meta, blob, s3err and auth as leaves,
// replication reaching other zones only as an S3 client), printing the import
// chain that breaks it.
//
// The rules are written in deptest_test.go, each with the reason it exists.
// state_test.go keeps a second habit of the design: no exported
// package-level variables outside sentinel errors.
package deptest
