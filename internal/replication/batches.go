package replication

import "sos/internal/meta"

// inBatches pages through a meta scan: it runs scan, collecting at most
// size items, hands them to do outside the scan (so that do may write to
// the store), and scans again until a scan yields nothing. scan resumes
// where the previous batch ended, from a cursor of the caller's that do
// advances. The batch is reused: do must not keep it.
func inBatches[T any](size int, scan func(fn func(T) error) error, do func(batch []T) error) error {
	batch := make([]T, 0, size)
	for {
		batch = batch[:0]
		err := scan(func(x T) error {
			batch = append(batch, x)
			if len(batch) >= size {
				return meta.ErrStop
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		if err := do(batch); err != nil {
			return err
		}
	}
}
