// Package versionid makes the version IDs of a zone: a hybrid logical clock
// whose 64-bit stamps hold milliseconds since 2024-01-01 UTC, a logical
// counter and a tag of the zone name, so that stamps are unique across zones
// and ordered by time everywhere. A version ID is the stamp as 16 lowercase
// hex digits, which sorts like the stamp.
package versionid
