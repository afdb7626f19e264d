package notify

import "time"

// SetClock sets the clock d judges a receiver down by.
func SetClock(d *Dispatcher, now func() time.Time) { d.down.now = now }
