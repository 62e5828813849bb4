package server

import (
	"log/slog"
	"net/http"

	"sos/internal/console"
	"sos/internal/control"
)

// consoleHandler is the web console, served at "/" of the control plane.
func consoleHandler(plane *control.Plane, log *slog.Logger) http.Handler {
	return console.New(console.Options{Plane: plane, Logger: log})
}
