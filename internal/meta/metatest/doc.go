// Package metatest is the conformance suite for meta.Store implementations
// (Run, RunReopen) and Faulty, a meta.Store wrapper that injects Update
// failures so that other packages can test how they behave when the store
// fails.
package metatest
