package replication

import (
	"slices"
	"testing"

	"sos/internal/iam"
)

func TestChangedRoles(t *testing.T) {
	pol := func(doc string) *iam.Policy {
		p, err := iam.ParsePolicy([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	allow := pol(`{"default-service-strategy":"allow","services":{}}`)
	deny := pol(`{"default-service-strategy":"deny","services":{}}`)
	var last roleChanges
	steps := []struct {
		roles []iam.Role
		want  []string
	}{
		{[]iam.Role{{ID: "a", Policy: allow}, {ID: "b"}}, nil},                              // first sight: nothing changed
		{[]iam.Role{{ID: "a", Policy: allow}, {ID: "b"}}, nil},                              // same again
		{[]iam.Role{{ID: "a", Policy: deny}, {ID: "b", Policy: allow}}, []string{"a", "b"}}, // both changed, one from no policy
		{[]iam.Role{{ID: "a", Policy: deny}, {ID: "b"}}, []string{"b"}},                     // policy removed
	}
	for i, s := range steps {
		if got := last.changed(s.roles); !slices.Equal(got, s.want) {
			t.Fatalf("step %d: changed %v, want %v", i, got, s.want)
		}
	}
}
