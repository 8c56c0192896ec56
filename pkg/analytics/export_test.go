package analytics

import "time"

// SetNow replaces the service's clock, for tests of the default ranges.
func (s *Service) SetNow(now func() time.Time) { s.now = now }
