package server

import (
	"log/slog"
	"net/http"

	"sos/internal/control"
)

func consoleHandler(plane *control.Plane, log *slog.Logger) http.Handler {
	return http.NotFoundHandler()
}
