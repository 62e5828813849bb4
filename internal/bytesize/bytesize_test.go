package bytesize

import "testing"

func TestHuman(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {372, "372 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1229, "1.2 KiB"},
		{10 * 1024, "10 KiB"}, {15 << 20, "15 MiB"}, {5 << 30, "5.0 GiB"}, {1 << 50, "1.0 PiB"},
		{1 << 62, "4.0 EiB"}, {1234, "1.2 KiB"}, {12345, "12 KiB"}, {5 << 20, "5.0 MiB"}, {1288490189, "1.2 GiB"},
	} {
		if got := Human(c.n); got != c.want {
			t.Errorf("Human(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
