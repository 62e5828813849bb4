package server

import (
	"log/slog"
	"net/http"

	"sos/internal/console"
	"sos/internal/control"
	"sos/internal/transport"
)

// consoleHandler is the web console, served at "/" of the control plane;
// its requests to zones go through trust (verified TLS, no credentials in
// clear to other hosts).
func consoleHandler(plane *control.Plane, trust *transport.Trust, log *slog.Logger) http.Handler {
	return console.New(console.Options{Plane: plane, Logger: log,
		HTTPClient: trust.Client(transport.Tuning{MaxIdleConnsPerHost: 16})})
}
