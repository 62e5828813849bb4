package bucketname

import (
	"strconv"
	"strings"
)

// Error is a refused bucket name and the rule it breaks.
type Error struct {
	Name string
	// Reason is the rule broken, in words that follow the name: "must be 3
	// to 63 characters long".
	Reason string
}

func (e *Error) Error() string { return "bucket name " + strconv.Quote(e.Name) + " " + e.Reason }

// Reserved prefixes and suffixes: S3 keeps them for its own kinds of names
// (punycode, access point and Object Lambda aliases, Multi-Region Access
// Points, directory and table buckets, documentation examples).
var (
	reservedPrefixes = []string{"xn--", "sthree-", "amzn-s3-demo-"}
	reservedSuffixes = []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}
)

// Check applies S3's naming rules for general purpose buckets: 3 to 63
// characters; only lowercase letters, digits, periods and hyphens; a letter
// or digit first and last; no two adjacent periods; no period next to a
// hyphen (the S3 console's rule, kept so that every name sos takes is one
// that S3 takes too); not formatted as an IP address; none of the reserved
// prefixes and suffixes. It returns nil or an *Error.
func Check(name string) error {
	bad := func(reason string) error { return &Error{Name: name, Reason: reason} }
	if len(name) < 3 || len(name) > 63 {
		return bad("must be 3 to 63 characters long")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !alnum(c) && c != '.' && c != '-' {
			return bad("may hold only lowercase letters, digits, periods and hyphens")
		}
	}
	if !alnum(name[0]) || !alnum(name[len(name)-1]) {
		return bad("must begin and end with a letter or digit")
	}
	if strings.Contains(name, "..") {
		return bad("must not hold two adjacent periods")
	}
	if strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return bad("must not hold a period next to a hyphen")
	}
	if ipFormatted(name) {
		return bad("must not be formatted as an IP address")
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(name, p) {
			return bad("must not begin with " + p + " (reserved by S3)")
		}
	}
	for _, s := range reservedSuffixes {
		if strings.HasSuffix(name, s) {
			return bad("must not end with " + s + " (reserved by S3)")
		}
	}
	return nil
}

func alnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// ipFormatted reports whether name has the shape of an IPv4 address: four
// labels of digits ("192.168.5.4", and "999.0.0.1" too, which no host takes
// for an address but every reader does). An IPv6 address needs colons,
// which the character rule refuses already.
func ipFormatted(name string) bool {
	labels := strings.Split(name, ".")
	if len(labels) != 4 {
		return false
	}
	for _, l := range labels {
		if l == "" || strings.Trim(l, "0123456789") != "" {
			return false
		}
	}
	return true
}
