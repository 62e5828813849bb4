// Package blobtest is the conformance suite for blob.Store implementations
// (Run, RunReopen) and Faulty, a blob.Store wrapper that makes chosen Puts
// fail, so that other packages can test how they behave when blob writes
// fail.
package blobtest
