package todoapi

import (
	"context"
	"fmt"
)

// ChangesEnd returns the position at the current end of the user's change
// feed, from one read of the user's row: reading the feed from it yields
// only changes committed after this call began. A live stream opened
// without a position starts there.
func (s *Service) ChangesEnd(ctx context.Context, user User) (string, error) {
	key, err := s.tokenKey(ctx)
	if err != nil {
		return "", err
	}
	if err := s.touch(ctx, user); err != nil {
		return "", err
	}
	seq, err := s.store.CollectionVersion(ctx, user.ID)
	if err != nil {
		return "", fmt.Errorf("read the end of the change feed: %w", err)
	}
	return encodeToken(key, user.ID, seq, s.Now()), nil
}
