package postgres

import (
	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolConfig returns the pool configuration Open would use.
func PoolConfig(rawURL string, opt Options) (*pgxpool.Config, error) {
	cfg, _, err := configure(rawURL, opt)
	return cfg, err
}
