package object

import (
	"context"
	"errors"
	"testing"
)

// hangupRegistry is a namespace whose Unregister is where the client hangs
// up: it cancels the request's context, then fails if it was handed that
// context, or with fail when set (a control plane that cannot be reached).
type hangupRegistry struct {
	names  map[string]bool
	cancel context.CancelFunc
	fail   error
}

func (r *hangupRegistry) Register(_ context.Context, name string) error {
	r.names[name] = true
	return nil
}

func (r *hangupRegistry) Unregister(ctx context.Context, name string) error {
	r.cancel()
	if r.fail != nil {
		return r.fail
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	delete(r.names, name)
	return nil
}

// A client hanging up while DeleteBucket releases the name must not leave
// the bucket deleted in the zone and its name still held by the registry
// (or the other way round): the zone and the namespace agree afterwards,
// whichever way the release went.
func TestDeleteBucketClientHangsUp(t *testing.T) {
	for _, tc := range []struct {
		name        string
		fail        error
		wantDeleted bool
	}{
		{name: "release succeeds", wantDeleted: true},
		{name: "control plane unreachable", fail: errors.New("control plane unreachable"), wantDeleted: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := &hangupRegistry{names: map[string]bool{}, fail: tc.fail}
			e := newEnv(t, func(o *Options) { o.Registry = reg })
			must(t, e.svc.CreateBucket(context.Background(), "gone"))
			reqCtx, cancel := context.WithCancel(context.Background())
			reg.cancel = cancel
			err := e.svc.DeleteBucket(reqCtx, "gone")
			_, berr := e.svc.Bucket(context.Background(), "gone")
			local := berr == nil
			if berr != nil && !errors.Is(berr, ErrNoSuchBucket) {
				t.Fatal(berr)
			}
			if local != reg.names["gone"] {
				t.Fatalf("after DeleteBucket (err %v): bucket in the zone %v, name held by the registry %v", err, local, reg.names["gone"])
			}
			if deleted := !local; deleted != tc.wantDeleted {
				t.Fatalf("deleted = %v (err %v), want %v", deleted, err, tc.wantDeleted)
			}
			if (err == nil) != tc.wantDeleted {
				t.Fatalf("DeleteBucket = %v, want error %v", err, !tc.wantDeleted)
			}
		})
	}
}
