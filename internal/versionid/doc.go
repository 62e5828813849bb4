// Package versionid makes the version IDs of a zone: a hybrid logical clock
// whose 64-bit stamps hold milliseconds since 2024-01-01 UTC, a logical
// counter and a tag of the zone name. A Clock's stamps strictly increase
// while it runs, and stamps of zones whose tags differ never collide (the
// control plane refuses zones whose tags are the same), so version IDs are
// unique across zones as long as each zone mints them from one Clock: two
// Clocks of one zone can make the same stamp, and a new Clock starts from
// the wall clock, knowing only the stamps it is told to Observe. Stamps sort
// by time across zones up to the skew of their clocks. A version ID is the
// stamp as 16 lowercase hex digits, which sorts like the stamp.
package versionid
