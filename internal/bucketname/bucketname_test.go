package bucketname_test

import (
	"errors"
	"strings"
	"testing"

	"sos/internal/bucketname"
)

// S3's general purpose bucket naming rules, one group of names per rule:
// the names S3 takes, then those it refuses, each with the reason given.
func TestCheck(t *testing.T) {
	valid := []string{
		"abc", "a1b", "123", "my-bucket", "my.bucket", "my-bucket.v2.example",
		"docexamplebucket1", "log-delivery-march-2020", "a-b-c", "a--b", "1.2.3",
		"1.2.3.4.5", "192.168.5.4a", "a.b.c.d", "xn-abc", "sthree", "abc-s3", "mrap",
		"abc-s3alias1", "s3alias", "amzn-s3-demo", "x-s3",
		strings.Repeat("a", 63), strings.Repeat("a.", 31) + "a",
	}
	for _, name := range valid {
		if err := bucketname.Check(name); err != nil {
			t.Errorf("Check(%q) = %v, want nil", name, err)
		}
	}

	invalid := []struct{ name, reason string }{
		// 3 (min) to 63 (max) characters.
		{"", "must be 3 to 63 characters long"},
		{"ab", "must be 3 to 63 characters long"},
		{strings.Repeat("a", 64), "must be 3 to 63 characters long"},
		// Only lowercase letters, digits, periods and hyphens.
		{"Abc", "may hold only lowercase letters, digits, periods and hyphens"},
		{"UPPER", "may hold only lowercase letters, digits, periods and hyphens"},
		{"a_b", "may hold only lowercase letters, digits, periods and hyphens"},
		{"a b", "may hold only lowercase letters, digits, periods and hyphens"},
		{"a/b", "may hold only lowercase letters, digits, periods and hyphens"},
		{"../etc", "may hold only lowercase letters, digits, periods and hyphens"},
		{"a\x00b", "may hold only lowercase letters, digits, periods and hyphens"},
		{"bücket", "may hold only lowercase letters, digits, periods and hyphens"},
		{"::1", "may hold only lowercase letters, digits, periods and hyphens"},
		// Begin and end with a letter or digit.
		{"-ab", "must begin and end with a letter or digit"},
		{"ab-", "must begin and end with a letter or digit"},
		{".ab", "must begin and end with a letter or digit"},
		{"ab.", "must begin and end with a letter or digit"},
		// No two adjacent periods.
		{"a..b", "must not hold two adjacent periods"},
		{"my..bucket", "must not hold two adjacent periods"},
		// No period next to a hyphen.
		{"a.-b", "must not hold a period next to a hyphen"},
		{"a-.b", "must not hold a period next to a hyphen"},
		// Not formatted as an IP address.
		{"192.168.5.4", "must not be formatted as an IP address"},
		{"10.0.0.1", "must not be formatted as an IP address"},
		{"999.999.999.999", "must not be formatted as an IP address"},
		{"01.02.03.04", "must not be formatted as an IP address"},
		// Reserved prefixes.
		{"xn--abc", "must not begin with xn-- (reserved by S3)"},
		{"sthree-abc", "must not begin with sthree- (reserved by S3)"},
		{"sthree-configurator", "must not begin with sthree- (reserved by S3)"},
		{"amzn-s3-demo-bucket", "must not begin with amzn-s3-demo- (reserved by S3)"},
		// Reserved suffixes.
		{"abc-s3alias", "must not end with -s3alias (reserved by S3)"},
		{"abc--ol-s3", "must not end with --ol-s3 (reserved by S3)"},
		{"abc.mrap", "must not end with .mrap (reserved by S3)"},
		{"abc--x-s3", "must not end with --x-s3 (reserved by S3)"},
		{"abc--table-s3", "must not end with --table-s3 (reserved by S3)"},
	}
	for _, c := range invalid {
		err := bucketname.Check(c.name)
		var e *bucketname.Error
		if !errors.As(err, &e) {
			t.Errorf("Check(%q) = %v, want a *bucketname.Error", c.name, err)
			continue
		}
		if e.Name != c.name || e.Reason != c.reason {
			t.Errorf("Check(%q) = {%q, %q}, want reason %q", c.name, e.Name, e.Reason, c.reason)
		}
	}
}

func TestErrorText(t *testing.T) {
	err := bucketname.Check("a_b")
	if got, want := err.Error(), `bucket name "a_b" may hold only lowercase letters, digits, periods and hyphens`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
