// Package repltest runs sos zones for replication tests: in-process zones
// (object service on pebblemeta + fsblob, S3 handler on a local listener,
// replication workers) sharing one IAM Authorizer and bucket namespace, a
// TCP fault-injecting proxy in front of each zone (refuse or black-hole
// connections, to play outages and partitions), S3 clients built with
// explicit configuration, and convergence checks built on repldiff. The
// proxy, clients and checks also serve tests that run zones as separate
// processes.
//
// It composes zones from s3api, object and replication as the server does,
// so it lives under the composition root: replication's own tests (package
// replication_test) and the server's tests use it; nothing outside tests does.
package repltest
