// Package server is the composition root of sosd: it builds the stores,
// services, listeners and workers of the control plane and of zones, wires
// them together, and shuts them down. `sosd dev` runs the control plane and
// two zones in one process (StartDev); `sosd control` and `sosd zone` run
// them apart, the zones talking to the control plane over HTTP with their
// bearer token in every case.
package server
