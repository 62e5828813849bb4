// Package replconfig is the bucket replication configuration: its S3 XML and
// the seed's JSON forms, validation with S3's rules, and matching a written
// object against the rules to find its destinations.
package replconfig
