package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Output formats of -O.
const (
	formatTable = "table"
	formatJSON  = "json"
	formatText  = "text"
)

// view is what a command shows: a human form (tables and aligned rows), a
// text form for scripts (tab-separated) and a JSON value.
type view interface {
	human(w io.Writer) error
	text(w io.Writer) error
	jsonValue() any
}

func render(w io.Writer, format string, v view) error {
	switch format {
	case formatJSON:
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(v.jsonValue())
	case formatText:
		return v.text(w)
	default:
		return v.human(w)
	}
}

// field is one row of a record: a key and its value; a value of several
// lines takes several rows.
type field struct {
	Key, Value string
	// Text replaces Value in the text form (e.g. compact JSON).
	Text string
}

// record is one thing, shown as a bordered two-column table.
type record struct {
	Title  string
	Fields []field
	JSON   any
}

func (r record) jsonValue() any { return r.JSON }

func (r record) human(w io.Writer) error {
	kw, vw := 0, 0
	if r.Title != "" {
		kw = runeLen(r.Title)
	}
	for _, f := range r.Fields {
		kw = max(kw, runeLen(f.Key))
		for _, l := range strings.Split(f.Value, "\n") {
			vw = max(vw, runeLen(l))
		}
	}
	border := "┼" + strings.Repeat("─", kw+2) + "┼" + strings.Repeat("─", vw+2) + "┼\n"
	row := func(k, v string) string {
		return "│ " + pad(k, kw) + " │ " + pad(v, vw) + " │\n"
	}
	var b strings.Builder
	b.WriteString(border)
	if r.Title != "" {
		b.WriteString(row(r.Title, ""))
		b.WriteString(border)
	}
	for _, f := range r.Fields {
		for i, l := range strings.Split(f.Value, "\n") {
			k := f.Key
			if i > 0 {
				k = ""
			}
			b.WriteString(row(k, l))
		}
	}
	b.WriteString(border)
	_, err := io.WriteString(w, b.String())
	return err
}

// text prints one "Key<TAB>value" line per field, multi-line values joined
// with ", ".
func (r record) text(w io.Writer) error {
	var b strings.Builder
	for _, f := range r.Fields {
		v := strings.ReplaceAll(f.Value, "\n", ", ")
		if f.Text != "" {
			v = f.Text
		}
		fmt.Fprintf(&b, "%s\t%s\n", f.Key, v)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// records is several records shown one after the other.
type records struct {
	Items []record
	JSON  any
}

func (rs records) jsonValue() any { return rs.JSON }
func (rs records) human(w io.Writer) error {
	for _, r := range rs.Items {
		if err := r.human(w); err != nil {
			return err
		}
	}
	return nil
}
func (rs records) text(w io.Writer) error {
	for i, r := range rs.Items {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := r.text(w); err != nil {
			return err
		}
	}
	return nil
}

// list is several things, one aligned row each.
type list struct {
	Header []string // optional, shown by human only
	Right  []bool   // columns aligned right
	Rows   [][]string
	JSON   any
	Empty  string // human text when there are no rows
}

func (l list) jsonValue() any { return l.JSON }

func (l list) human(w io.Writer) error {
	if len(l.Rows) == 0 {
		if l.Empty != "" {
			_, err := fmt.Fprintln(w, l.Empty)
			return err
		}
		return nil
	}
	var widths []int
	all := l.Rows
	if l.Header != nil {
		all = append([][]string{l.Header}, l.Rows...)
	}
	for _, r := range all {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], runeLen(c))
		}
	}
	var b strings.Builder
	for _, r := range all {
		var line strings.Builder
		for i, c := range r {
			if i > 0 {
				line.WriteString("  ")
			}
			right := i < len(l.Right) && l.Right[i]
			switch {
			case right:
				line.WriteString(strings.Repeat(" ", widths[i]-runeLen(c)) + c)
			case i == len(r)-1:
				line.WriteString(c)
			default:
				line.WriteString(pad(c, widths[i]))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (l list) text(w io.Writer) error {
	var b strings.Builder
	for _, r := range l.Rows {
		b.WriteString(strings.Join(r, "\t") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// message is a sentence for people, a value for JSON; text shows the sentence.
type message struct {
	Text string // may be empty: nothing shown
	JSON any
}

func (m message) jsonValue() any { return m.JSON }
func (m message) human(w io.Writer) error {
	if m.Text == "" {
		return nil
	}
	_, err := fmt.Fprintln(w, m.Text)
	return err
}
func (m message) text(w io.Writer) error { return m.human(w) }

func runeLen(s string) int { return utf8.RuneCountInString(s) }

func pad(s string, n int) string {
	if d := n - runeLen(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return s
}

// humanTime formats a time as the seed: "2025-02-20 15:50:12 UTC".
func humanTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// humanAge formats a duration in seconds for people: "0s", "42s", "3m12s", "2h5m".
func humanAge(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second)).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}
