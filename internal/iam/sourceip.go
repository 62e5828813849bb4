package iam

import (
	"net"
	"net/http"
)

// SourceIP is the policy variable source_ip of a request: the address of
// the peer that sent it, without its port. The S3 API, API v2 and the
// console all take it from here.
func SourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
