package console

import (
	"fmt"
	"html/template"
	"math"
	"net/url"
	"strings"
	"time"

	"sos/internal/bytesize"
)

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{
	"message", "error", "signin",
	"roles", "role_add", "role", "keys",
	"buckets", "bucket_add", "bucket", "replication", "objects", "versions",
}

func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"bucketURL":   bucketURL,
		"objectsURL":  objectsURL,
		"versionsURL": versionsURL,
		"downloadURL": downloadURL,
		"size":        bytesize.Human,
		"when":        when,
		"day":         day,
		"age":         age,
		"lower":       strings.ToLower,
		"hasPrefix":   strings.HasPrefix,
	}
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t := template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
		pages[name] = t
	}
	return pages
}

func downloadURL(bucket, key, version string) string {
	u := bucketURL(bucket, "download") + "?key=" + url.QueryEscape(key)
	if version != "" {
		u += "&version=" + url.QueryEscape(version)
	}
	return u
}

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func day(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02")
}

// age words a duration in seconds: "42 s", "3 min", "2 h 5 min", "3 days".
func age(seconds float64) string {
	if math.IsNaN(seconds) || seconds < 0 {
		return "—"
	}
	d := time.Duration(seconds * float64(time.Second))
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
