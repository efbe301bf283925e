package store

import "context"

// SynchronousCommit reports the synchronous_commit setting of one of the
// store's pooled connections (for tests).
func (s *Postgres) SynchronousCommit(ctx context.Context) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, "SHOW synchronous_commit").Scan(&v)
	return v, err
}
